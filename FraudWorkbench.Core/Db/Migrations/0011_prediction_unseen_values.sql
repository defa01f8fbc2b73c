-- Category values a scored transaction held that the model never saw in training, with how each was scored:
-- [{"column": "merchant_category", "value": "crypto", "message": "not seen in training; scored as 'other'"}].
-- Null for the usual transaction, so the column costs the log nothing; data-quality monitoring counts them.
ALTER TABLE predictions ADD COLUMN unseen jsonb NULL;
