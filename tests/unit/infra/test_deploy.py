"""`python -m infra.deploy publish`: the stack's outputs name the site, frontend/ lands in its bucket with the
right headers, files the folder lost are deleted, and CloudFront is told to drop its cached copies (moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import deploy

BUCKET = "gateway-site-bucket"
SITE_URL = "https://d111111abcdef8.cloudfront.net"


def distribution(cloudfront: Any) -> str:
    """A distribution in moto's CloudFront, for the invalidation to land on."""
    config = {
        "CallerReference": "test",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": f"{BUCKET}.s3.amazonaws.com"}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https"},
    }
    distribution_id: str = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    return distribution_id


def stack(name: str, outputs: dict[str, Any]) -> None:
    """A CloudFormation stack in moto with these outputs (and the site bucket, made by the stack as in AWS)."""
    template = {
        "Resources": {"SiteBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def site_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "frontend"
    (folder / "img").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><script type=module src=app.js></script>")
    (folder / "app.js").write_text("export {};")
    (folder / "styles.css").write_text("body {}")
    (folder / "img" / "logo.svg").write_text("<svg/>")
    (folder / ".DS_Store").write_text("finder")
    return folder


@pytest.mark.usefixtures("moto")
def test_publish_uploads_with_headers_deletes_stale_files_and_invalidates(tmp_path: Path) -> None:
    cloudfront, s3 = boto3.client("cloudfront"), boto3.client("s3")
    distribution_id = distribution(cloudfront)
    stack("gateway", {"SiteUrl": SITE_URL, "SiteBucketName": BUCKET, "DistributionId": distribution_id})
    s3.put_object(Bucket=BUCKET, Key="old-app.js", Body=b"gone")

    site = deploy.site_of("gateway", boto3.client("cloudformation"))
    assert site == deploy.Site(SITE_URL, BUCKET, distribution_id)
    published = deploy.publish(site_folder(tmp_path), site, s3, cloudfront)

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"index.html", "app.js", "styles.css", "img/logo.svg"}  # no .DS_Store, no old-app.js
    assert published.deleted == ("old-app.js",)
    headers = {
        key: (head["ContentType"], head["CacheControl"])
        for key in keys
        for head in [s3.head_object(Bucket=BUCKET, Key=key)]
    }
    assert headers == {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "app.js": ("text/javascript; charset=utf-8", "no-cache"),
        "styles.css": ("text/css; charset=utf-8", "no-cache"),
        "img/logo.svg": ("image/svg+xml", "no-cache"),
    }
    assert s3.get_object(Bucket=BUCKET, Key="app.js")["Body"].read() == b"export {};"
    (invalidation,) = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]["Items"]
    assert invalidation["Id"] == published.invalidation_id
    details = cloudfront.get_invalidation(DistributionId=distribution_id, Id=published.invalidation_id)
    assert details["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


@pytest.mark.usefixtures("moto")
def test_a_stack_without_site_hosting_is_refused_with_what_to_do() -> None:
    stack("elsewhere", {"ApiUrl": "https://abc.execute-api.ap-southeast-1.amazonaws.com"})
    with pytest.raises(deploy.DeployError, match="SiteHosting None"):
        deploy.site_of("elsewhere", boto3.client("cloudformation"))


def test_a_folder_without_index_html_is_refused(tmp_path: Path) -> None:
    with pytest.raises(deploy.DeployError, match=r"no index\.html"):
        deploy.site_files(tmp_path)


def test_stack_name_and_region_default_to_samconfig(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "my-gateway"\nregion = "ap-southeast-1"\n'
        'capabilities = "CAPABILITY_IAM"\n'
    )
    assert deploy.samconfig_defaults(config) == {"stack_name": "my-gateway", "region": "ap-southeast-1"}
    assert deploy.samconfig_defaults(tmp_path / "missing.toml") == {}


@pytest.mark.usefixtures("moto")
def test_the_command_publishes_and_prints_the_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack(
        "gateway",
        {"SiteUrl": SITE_URL, "SiteBucketName": BUCKET, "DistributionId": distribution(boto3.client("cloudfront"))},
    )
    folder = site_folder(tmp_path)
    assert deploy.main(["publish", "--stack-name", "gateway", "--site-dir", str(folder)]) == 0
    assert f"Site: {SITE_URL}" in capsys.readouterr().out
    assert deploy.main(["publish", "--stack-name", "no-such-stack", "--site-dir", str(folder)]) == 1
    assert "no-such-stack" in capsys.readouterr().err
