-- Datasets and their immutable versions. A version's file is the artifact named by its checksum.
CREATE TABLE datasets (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    archived_at timestamptz NULL,
    archived_by text NULL
);
CREATE UNIQUE INDEX datasets_name_key ON datasets (lower(name));

CREATE TABLE dataset_versions (
    id           uuid PRIMARY KEY,
    dataset_id   uuid NOT NULL REFERENCES datasets (id),
    version      integer NOT NULL,
    checksum     text NOT NULL,
    file_name    text NOT NULL,
    size_bytes   bigint NOT NULL,
    row_count    bigint NOT NULL,
    column_count integer NOT NULL,
    schema       jsonb NOT NULL,
    profile      jsonb NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    UNIQUE (dataset_id, version)
);
CREATE INDEX dataset_versions_checksum ON dataset_versions (checksum);
