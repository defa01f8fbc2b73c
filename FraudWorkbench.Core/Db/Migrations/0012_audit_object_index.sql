-- The audit page shows what an update changed by reading the same object's previous entry.
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id DESC);
