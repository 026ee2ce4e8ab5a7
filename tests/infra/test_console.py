"""The console in the stack (the API's Cognito option): a private bucket only CloudFront may read (origin access
control), HTTPS with CSP and HSTS on every answer, the API under the same origin uncached, a login client with the
code flow only, and the built files uploaded with their config.json; none of it with IAM authorization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from cdk.arbiter_constructs.console import CONSOLE_DIST, HSTS_MAX_AGE, console_files
from cdk.stacks.arbiter_stack import ArbiterStack

ONE_YEAR_S = 365 * 86_400


def _one(template: assertions.Template, kind: str) -> dict[str, Any]:
    (found,) = template.find_resources(kind).values()
    return dict(found["Properties"])


@pytest.fixture(scope="module")
def template(cognito_assembly: tuple[ArbiterStack, Path]) -> assertions.Template:
    return assertions.Template.from_stack(cognito_assembly[0])


def _bucket(template: assertions.Template, logical_prefix: str) -> dict[str, Any]:
    (found,) = [r for k, r in template.find_resources("AWS::S3::Bucket").items() if k.startswith(logical_prefix)]
    return dict(found["Properties"])


def test_the_files_bucket_is_private_encrypted_and_logged(template: assertions.Template) -> None:
    files = _bucket(template, "ConsoleFiles")
    assert files["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "WebsiteConfiguration" not in files  # never a public website endpoint
    assert files["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert "LoggingConfiguration" in files
    logs = _bucket(template, "ConsoleAccessLogs")
    assert "AccessControl" not in logs


def test_only_the_distribution_may_read_the_bucket(template: assertions.Template) -> None:
    policies = [
        r["Properties"]
        for k, r in template.find_resources("AWS::S3::BucketPolicy").items()
        if k.startswith("ConsoleFilesPolicy")
    ]
    (policy,) = policies
    statements = policy["PolicyDocument"]["Statement"]
    reads = [s for s in statements if s["Effect"] == "Allow" and "s3:GetObject" in json.dumps(s["Action"])]
    assert reads, statements
    for statement in reads:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert "AWS:SourceArn" in statement["Condition"]["StringEquals"]
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements)
    access = _one(template, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert access["OriginAccessControlOriginType"] == "s3"
    assert access["SigningBehavior"] == "always"


def test_the_distribution_serves_https_with_the_headers_policy_and_the_api_uncached(
    template: assertions.Template,
) -> None:
    config = _one(template, "AWS::CloudFront::Distribution")["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "ResponseHeadersPolicyId" in default
    (s3_origin,) = [o for o in config["Origins"] if "S3OriginConfig" in o]
    assert "OriginAccessControlId" in s3_origin
    assert s3_origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/v1/*"
    assert api["ViewerProtocolPolicy"] == "https-only"
    assert set(api["AllowedMethods"]) >= {"GET", "PUT", "POST", "DELETE"}
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert api["ResponseHeadersPolicyId"] == default["ResponseHeadersPolicyId"]
    assert config["DefaultRootObject"] == "index.html"
    assert "Logging" in config


def test_security_headers_csp_and_hsts(template: assertions.Template) -> None:
    headers = _one(template, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    csp = json.dumps(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "amazoncognito.com" in csp  # the login's token endpoint is the one other host the page may call
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= ONE_YEAR_S
    assert hsts["AccessControlMaxAgeSec"] == HSTS_MAX_AGE.to_seconds()
    assert hsts["IncludeSubdomains"] is True
    assert hsts["Override"] is True
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["FrameOptions"]["FrameOption"] == "DENY"


def test_the_login_client_uses_the_code_flow_with_no_secret(template: assertions.Template) -> None:
    clients = [r["Properties"] for r in template.find_resources("AWS::Cognito::UserPoolClient").values()]
    (console,) = [c for c in clients if "ConsoleDistribution" in json.dumps(c.get("CallbackURLs", []))]
    assert console["AllowedOAuthFlows"] == ["code"]  # never the implicit flow: tokens stay out of the address
    assert console["AllowedOAuthFlowsUserPoolClient"] is True
    assert console["GenerateSecret"] is False
    assert console["CallbackURLs"] == console["LogoutURLs"]
    others = [c for c in clients if c is not console]
    assert others
    assert all(not c.get("AllowedOAuthFlows") for c in others)  # no other client may use the implicit flow
    template.resource_count_is("AWS::Cognito::UserPoolDomain", 1)


def test_the_built_files_and_their_config_are_uploaded(template: assertions.Template) -> None:
    (upload,) = [r["Properties"] for r in template.find_resources("Custom::CDKBucketDeployment").values()]
    assert len(upload["SourceBucketNames"]) == 2  # the built console, and config.json
    assert upload["Prune"] is True
    assert upload["DistributionPaths"] == ["/index.html", "/config.json"]
    assert len(upload["SourceMarkers"]) == 2  # config.json's values (login domain, client) resolved at deploy


def test_iam_authorization_has_no_console(dev_assembly: tuple[ArbiterStack, Path]) -> None:
    template = assertions.Template.from_stack(dev_assembly[0])
    template.resource_count_is("AWS::CloudFront::Distribution", 0)
    assert dev_assembly[0].console is None


def test_an_unbuilt_console_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make console"):
        console_files(tmp_path)
    assert console_files(CONSOLE_DIST) == CONSOLE_DIST
