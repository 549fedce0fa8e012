"""One storage for every uploaded file: content checks, local disk or S3 (MinIO), signed links."""
