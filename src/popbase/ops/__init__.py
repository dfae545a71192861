"""Operations: ingest, snapshots, record accounting, evaluation, publishing."""
