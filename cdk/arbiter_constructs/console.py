"""The operators' console in AWS: its built files (console/dist) in a private S3 bucket that only CloudFront may
read (origin access control), served over HTTPS with security headers (CSP naming the API and the login domain,
HSTS, no framing, no sniffing), and login through the API's Cognito user pool (the authorization code flow with
PKCE on the pool's hosted login; the page sends the ID token to the API's Cognito authorizer).

The distribution serves the API too, under /v1/* (uncached, every viewer header but Host forwarded, so the ID
token, If-None-Match and ETag pass): the page and the API share one origin, and the CSP's connect-src is 'self'
and the login domain. It exists with ``api_auth=cognito`` only: a browser cannot sign SigV4 requests without
handing people AWS keys."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from cdk.config import DeploymentConfig

CONSOLE_DIST = Path(__file__).resolve().parents[2] / "console" / "dist"
"""What `make console` builds (vite); `make synth` builds it first."""
HSTS_MAX_AGE = Duration.days(730)


def console_files(dist: Path = CONSOLE_DIST) -> Path:
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist} is not built: `make console` builds it (npm ci && npm run build in console/)")
    return dist


class Console(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        api: apigw.RestApi,
        user_pool: cognito.UserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        self.logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront's standard logs are written with an ACL: the bucket owner must be able to own them.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365 if config.is_prod else 30))],
            removal_policy=removal,
            auto_delete_objects=not config.is_prod,
        )
        # CDK adds the legacy canned ACL for log delivery; neither writer needs it: S3's server access logs are
        # allowed by the bucket policy CDK writes, and CloudFront grants itself on the bucket's ACL when logging
        # is enabled (object ownership above keeps ACLs available for that).
        logs_resource = self.logs.node.default_child
        assert isinstance(logs_resource, s3.CfnBucket)
        logs_resource.add_property_deletion_override("AccessControl")
        self.bucket = s3.Bucket(
            self,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
            removal_policy=removal,
            auto_delete_objects=not config.is_prod,
        )
        self.login = user_pool.add_domain(
            "ConsoleLogin",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"{config.resource_prefix}-{Aws.ACCOUNT_ID}"),
        )
        login_host = f"{self.login.domain_name}.auth.{Aws.REGION}.amazoncognito.com"
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="Arbiter console: CSP, HSTS, no framing, no sniffing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=(
                        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                        f"connect-src 'self' https://{login_host}; frame-ancestors 'none'; base-uri 'none'; "
                        "form-action 'none'; object-src 'none'"
                    ),
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, preload=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{config.resource_prefix} operators' console",
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=self.headers,
                compress=True,
            ),
            additional_behaviors={
                "/v1/*": cloudfront.BehaviorOptions(
                    origin=origins.RestApiOrigin(api),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=self.headers,
                )
            },
        )
        url = f"https://{self.distribution.distribution_domain_name}/"
        self.client = user_pool.add_client(
            "ConsoleClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[url],
                logout_urls=[url],
            ),
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
            prevent_user_existence_errors=True,
        )
        # Read by the page at start; the API is this origin's /v1, so only the login is named.
        settings = {"apiUrl": "", "auth": {"domain": login_host, "clientId": self.client.user_pool_client_id,
                                           "redirectUri": url}}  # fmt: skip
        self.upload = s3deploy.BucketDeployment(
            self,
            "Upload",
            sources=[s3deploy.Source.asset(str(console_files())), s3deploy.Source.json_data("config.json", settings)],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/index.html", "/config.json"],
            memory_limit=256,
            prune=True,
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR1",
                reason="Operators sign in from wherever they are; Cognito (MFA required) guards every call.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR2",
                reason="WAF is not attached yet (as for the API): static files, and every /v1 call is authorized "
                "by Cognito and throttled by the API's stage.",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR4",
                reason="The distribution's default *.cloudfront.net certificate cannot set a minimum TLS version; "
                "TLSv1.2_2021 applies once a custom domain and its ACM certificate are configured (not built).",
            ),
        )
        # BucketDeployment's one handler per stack (CDK's own singleton, made at the stack's root): it runs at
        # deployment only, to copy the built files from the CDK asset bucket and invalidate the distribution.
        stack = Stack.of(self)
        uploaders = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
        logical = stack.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        reasons = {
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]": "CDK's BucketDeployment handler writes its own logs.",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]": "CloudFront invalidations have no resource-level "
            "permission: CDK's BucketDeployment invalidates the console's distribution after an upload.",
            "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's BucketDeployment reads its asset.",
            "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's BucketDeployment reads its asset.",
            "AwsSolutions::AwsSolutions-IAM5[Action::s3:List*]": "CDK's BucketDeployment lists what it syncs.",
            "AwsSolutions::AwsSolutions-IAM5[Action::s3:Abort*]": "CDK's BucketDeployment uploads in parts.",
            "AwsSolutions::AwsSolutions-IAM5[Action::s3:DeleteObject*]": "prune: files of an older build go.",
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
            "<AWS::AccountId>-<AWS::Region>/*]": "The CDK asset bucket the built console is staged in.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical}.Arn>/*]": "Every file of the console's bucket.",
            "AwsSolutions::AwsSolutions-L1": "CDK's BucketDeployment handler: its runtime is the CDK release's.",
            "Serverless::Serverless-LambdaDLQ": "Invoked synchronously by CloudFormation, which reports a failure.",
            "Serverless::Serverless-LambdaLatestVersion": "CDK's BucketDeployment handler, pinned by the release.",
            "Serverless::Serverless-LambdaTracing": "A deployment-time copy; nothing to trace at run time.",
        }
        for uploader in uploaders:
            for rule, reason in reasons.items():
                Validations.of(uploader).acknowledge(Acknowledgment(id=rule, reason=reason))
