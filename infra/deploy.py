"""Publish frontend/ to a deployed stack's site: upload it to the site bucket, then drop CloudFront's cached copies.

`sam deploy` creates the bucket and the distribution (template.yaml, SiteHosting CloudFront); this puts the static
files in place, like `aws s3 sync --delete` followed by `aws cloudfront create-invalidation`, with boto3 alone so
that the AWS CLI need not be installed. The stack name and region default to those `sam deploy --guided` saved in
samconfig.toml.

    python -m infra.deploy publish [--stack-name NAME] [--region REGION] [--site-dir frontend]
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

ROOT = Path(__file__).resolve().parents[1]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
"""Stated rather than guessed for the files a page needs: a module script served with another type won't run."""

CACHE_CONTROL = "no-cache"
"""Browsers revalidate every file on every visit (a cheap 304 by ETag): the page's modules have no content hash in
their names, so a cached old ``gateway.js`` next to a new ``app.js`` could break the page after a publish."""


class DeployError(Exception):
    """The stack or the site folder is not what publishing needs; the message says what to do."""


@dataclass(frozen=True)
class Site:
    """Where a stack serves its static site from (the stack's outputs)."""

    url: str
    bucket: str
    distribution_id: str


@dataclass(frozen=True)
class Published:
    uploaded: tuple[str, ...]
    deleted: tuple[str, ...]
    invalidation_id: str


def site_of(stack_name: str, cloudformation: CloudFormationClient) -> Site:
    """Read the site's bucket and distribution from the stack's outputs."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    try:
        return Site(outputs["SiteUrl"], outputs["SiteBucketName"], outputs["DistributionId"])
    except KeyError:
        raise DeployError(
            f"stack {stack_name} does not host the site (deployed with SiteHosting None?): "
            "publish frontend/ wherever FrontendUrl points instead"
        ) from None


def site_files(site_dir: Path) -> dict[str, Path]:
    """Object key -> file, for every file under site_dir except hidden ones (.DS_Store, editor droppings)."""
    if not (site_dir / "index.html").is_file():
        raise DeployError(f"{site_dir} has no index.html: is it the site folder?")
    files = {}
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files[relative.as_posix()] = path
    return files


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def publish(site_dir: Path, site: Site, s3: S3Client, cloudfront: CloudFrontClient) -> Published:
    """Upload every file, delete objects the folder no longer has, then invalidate the whole distribution.

    Uploads come first so that no moment serves a page whose scripts are already gone.
    """
    files = site_files(site_dir)
    for key, path in files.items():
        s3.put_object(
            Bucket=site.bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type(key),
            CacheControl=CACHE_CONTROL,
        )
    stale = sorted(set(_object_keys(s3, site.bucket)) - set(files))
    for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1000 keys
        batch = stale[start : start + 1000]
        s3.delete_objects(Bucket=site.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    invalidation = cloudfront.create_invalidation(
        DistributionId=site.distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": uuid.uuid4().hex},
    )
    return Published(tuple(files), tuple(stale), invalidation["Invalidation"]["Id"])


def _object_keys(s3: S3Client, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def samconfig_defaults(path: Path) -> dict[str, str]:
    """stack_name and region from the samconfig.toml `sam deploy --guided` wrote (default environment)."""
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        config = tomllib.load(file)
    deploy = config.get("default", {}).get("deploy", {}).get("parameters", {})
    return {key: deploy[key] for key in ("stack_name", "region") if isinstance(deploy.get(key), str)}


def main(argv: Sequence[str] | None = None) -> int:
    defaults = samconfig_defaults(ROOT / "samconfig.toml")
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    publish_command = commands.add_parser("publish", help="upload frontend/ to the stack's site and invalidate")
    publish_command.add_argument("--stack-name", default=defaults.get("stack_name"), help="default: samconfig.toml's")
    publish_command.add_argument("--region", default=defaults.get("region"), help="default: samconfig.toml's")
    publish_command.add_argument("--site-dir", type=Path, default=ROOT / "frontend")
    args = parser.parse_args(argv)
    if not args.stack_name:
        parser.error("--stack-name is required (no samconfig.toml with a stack_name: run `sam deploy --guided`)")
    session = boto3.session.Session(region_name=args.region)
    try:
        site = site_of(args.stack_name, session.client("cloudformation"))
        published = publish(args.site_dir, site, session.client("s3"), session.client("cloudfront"))
    except (DeployError, BotoCoreError, ClientError) as error:  # no credentials, no such stack: say so, no trace
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Uploaded {len(published.uploaded)} files to s3://{site.bucket}, deleted {len(published.deleted)}.")
    print(f"CloudFront invalidation {published.invalidation_id} is under way (usually a minute or two).")
    print(f"Site: {site.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
