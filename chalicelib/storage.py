"""Amazon S3 adapter: the exports bucket of infra/definition.py, where account data exports (R28) and list
exports (R17) wait, and the uploads bucket, where CSV files for imports (R14) wait for their job.

Objects are encrypted by the bucket's default encryption (the stage's data key) and reached only through
short-lived presigned links; the bucket blocks all public access.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import IO, Any, BinaryIO

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

    def upload(self, key: str, body: IO[bytes], content_type: str = "application/json") -> None:
        """Store the file under `key` (multipart when large); writing the same key again replaces it."""
        store(self.bucket, key, body, content_type, "export")

    # --- a file written part by part (S3 multipart upload): every part but the last at least PART_MIN_BYTES ---

    PART_MIN_BYTES = 5 * 1024 * 1024

    def start_upload(self, key: str, content_type: str) -> str:
        """Begin a file written in parts; its upload id (the bucket's lifecycle aborts one left for a day)."""
        return self._call("start", lambda s3: s3.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type)["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Store part `number` (from 1) of the file; its ETag. Storing the same number again replaces it."""
        return self._call("part", lambda s3: s3.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)["ETag"])

    def finish_upload(self, key: str, upload_id: str, etags: list[str]) -> None:
        """Join the parts, in order, into the file under `key`."""
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
        s3 = aws.client("s3")
        try:
            s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
        except ClientError as exc:
            # Finished already by a run that stopped before it could say so: the file is there.
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload" or not self._exists(key):
                logger.error("export upload failed", extra={"step": "finish", "error": type(exc).__name__})
                raise errors.UpstreamError("The export could not be stored just now.") from exc
        except BotoCoreError as exc:
            raise errors.UpstreamError("The export could not be stored just now.") from exc

    def _exists(self, key: str) -> bool:
        try:
            aws.client("s3").head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Drop an unfinished file's parts (one already aborted or finished is left as it is)."""
        try:
            aws.client("s3").abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise errors.UpstreamError("The export's parts could not be dropped just now.") from exc

    def _call(self, step: str, call: Callable[[Any], Any]) -> Any:
        try:
            return call(aws.client("s3"))
        except (ClientError, BotoCoreError) as exc:
            logger.error("export upload failed", extra={"step": step, "error": type(exc).__name__})
            raise errors.UpstreamError("The export could not be stored just now.") from exc

    def link(self, key: str, filename: str, lifetime: timedelta) -> str:
        """A presigned GET link to the file, valid for `lifetime`, that downloads it as `filename`."""
        return download_link(self.bucket, key, filename, lifetime)

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


UPLOADS = "uploads"
READ_CHUNK = 256 * 1024


class UploadFiles:
    """Uploaded CSV files and the rejected rows' reports of imports, in the stage's uploads bucket
    (services/audience/imports.py's Files). Files are read a ranged GET at a time, never whole."""

    def __init__(self) -> None:
        self.bucket = get_settings().bucket_name(UPLOADS)

    def upload_form(self, key: str, max_bytes: int, lifetime: timedelta) -> dict:
        """A presigned POST ({"url", "fields"}) that uploads one file of at most `max_bytes` under `key`."""
        try:
            return aws.client("s3").generate_presigned_post(
                self.bucket, key, Conditions=[["content-length-range", 1, max_bytes]],
                ExpiresIn=int(lifetime.total_seconds()))
        except (ClientError, BotoCoreError) as exc:
            raise errors.UpstreamError("The upload form could not be made just now.") from exc

    def put(self, key: str, body: BinaryIO, content_type: str = "text/csv") -> None:
        """Store a file under `key` (multipart when large); writing the same key again replaces it."""
        store(self.bucket, key, body, content_type, "import file")

    def size(self, key: str) -> int | None:
        """The file's size in bytes, or None when nothing was uploaded under `key`."""
        try:
            return int(aws.client("s3").head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise errors.UpstreamError("The uploaded file could not be read just now.") from exc
        except BotoCoreError as exc:
            raise errors.UpstreamError("The uploaded file could not be read just now.") from exc

    def read_from(self, key: str, offset: int) -> Iterator[bytes]:
        """The file's bytes from `offset` to its end, in chunks (one ranged GET, streamed)."""
        try:
            answer = aws.client("s3").get_object(Bucket=self.bucket, Key=key, Range=f"bytes={offset}-")
            yield from answer["Body"].iter_chunks(READ_CHUNK)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":   # at or past the end: nothing left
                return
            raise errors.UpstreamError("The uploaded file could not be read just now.") from exc
        except BotoCoreError as exc:
            raise errors.UpstreamError("The uploaded file could not be read just now.") from exc

    def keys_under(self, prefix: str) -> Iterator[str]:
        """The keys that start with `prefix`, in order."""
        try:
            for page in aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                yield from (item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise errors.UpstreamError("The import's files could not be listed just now.") from exc

    def link(self, key: str, filename: str, lifetime: timedelta) -> str:
        """A presigned GET link to the file, valid for `lifetime`, that downloads it as `filename`."""
        return download_link(self.bucket, key, filename, lifetime)


def store(bucket: str, key: str, body: IO[bytes], content_type: str, what: str) -> None:
    """Store a file under `key` in `bucket` (multipart when large); writing the same key again replaces it."""
    try:
        aws.client("s3").upload_fileobj(body, bucket, key, ExtraArgs={"ContentType": content_type})
    except (ClientError, S3UploadFailedError, BotoCoreError) as exc:
        logger.error(f"{what} upload failed", extra={"error": type(exc).__name__})
        raise errors.UpstreamError(f"The {what} could not be stored just now.") from exc


def download_link(bucket: str, key: str, filename: str, lifetime: timedelta) -> str:
    """A presigned GET link to a file, valid for `lifetime`, that downloads it as `filename`."""
    try:
        return aws.client("s3").generate_presigned_url("get_object", Params={
            "Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{filename}"',
        }, ExpiresIn=int(lifetime.total_seconds()))
    except (ClientError, BotoCoreError) as exc:
        raise errors.UpstreamError("The download link could not be made just now.") from exc
