"""Amazon S3 adapter: the exports bucket of infra/definition.py, where account data exports wait (R28).

Objects are encrypted by the bucket's default encryption (the stage's data key) and reached only through
short-lived presigned links; the bucket blocks all public access.
"""
from __future__ import annotations

from datetime import timedelta
from typing import BinaryIO

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, errors
from chalicelib.config import get_settings
from chalicelib.log import logger

EXPORTS = "exports"


class ExportFiles:
    """Export files in the stage's exports bucket (services/privacy/account_export.py's Files)."""

    def __init__(self) -> None:
        self.bucket = get_settings().bucket_name(EXPORTS)

    def upload(self, key: str, body: BinaryIO, content_type: str = "application/json") -> None:
        """Store the file under `key` (multipart when large); writing the same key again replaces it."""
        try:
            aws.client("s3").upload_fileobj(body, self.bucket, key, ExtraArgs={"ContentType": content_type})
        except (ClientError, S3UploadFailedError, BotoCoreError) as exc:
            logger.error("export upload failed", extra={"error": type(exc).__name__})
            raise errors.UpstreamError("The export could not be stored just now.") from exc

    def link(self, key: str, filename: str, lifetime: timedelta) -> str:
        """A presigned GET link to the file, valid for `lifetime`, that downloads it as `filename`."""
        try:
            return aws.client("s3").generate_presigned_url("get_object", Params={
                "Bucket": self.bucket, "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            }, ExpiresIn=int(lifetime.total_seconds()))
        except (ClientError, BotoCoreError) as exc:
            raise errors.UpstreamError("The download link could not be made just now.") from exc

    def delete_under(self, prefix: str, limit: int = 1000) -> int:
        """Delete up to `limit` files whose keys start with `prefix` (an account's: "<account_id>/"); how many."""
        s3 = aws.client("s3")
        try:
            listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=limit).get("Contents", [])
            if listed:
                answer = s3.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": item["Key"]} for item in listed], "Quiet": True})
                if answer.get("Errors"):
                    raise errors.UpstreamError("Some export files could not be deleted just now.")
        except (ClientError, BotoCoreError) as exc:
            logger.error("export files not deleted", extra={"error": type(exc).__name__})
            raise errors.UpstreamError("The export files could not be deleted just now.") from exc
        return len(listed)
