"""Readers of department tables (CSV, XLSX, Parquet) and a fast XLSX writer."""
