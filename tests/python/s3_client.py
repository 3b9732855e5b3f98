"""boto3, the reference S3 client, for the access.s3 tests (tests/tests/s3.rs).

Usage: s3_client.py COMMAND [ARGS]; the server and keys come from the environment:
S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY.

  create-bucket               create S3_BUCKET
  put KEY FILE                upload FILE as KEY (boto3's managed transfer: multipart above 8 MiB)
  get KEY FILE                download KEY into FILE
  keys PREFIX                 print the keys under PREFIX as a JSON list
  uploads                     print the multipart uploads in progress as a JSON list of keys

Any failure exits 1 with boto3's message on stderr.
"""
import json
import os
import sys

import boto3
import botocore.config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def main(argv):
    s3, bucket = client(), os.environ["S3_BUCKET"]
    command, args = argv[0], argv[1:]
    if command == "create-bucket":
        s3.create_bucket(Bucket=bucket)
    elif command == "put":
        s3.upload_file(args[1], bucket, args[0])
    elif command == "get":
        s3.download_file(bucket, args[0], args[1])
    elif command == "keys":
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=args[0]):
            keys += [o["Key"] for o in page.get("Contents", [])]
        print(json.dumps(keys))
    elif command == "uploads":
        answer = s3.list_multipart_uploads(Bucket=bucket)
        print(json.dumps([u["Key"] for u in answer.get("Uploads", [])]))
    else:
        raise SystemExit(f"unknown command {command!r}; see the usage at the top of {__file__}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:  # the test shows the message
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
