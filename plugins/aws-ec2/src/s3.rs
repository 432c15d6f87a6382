//! S3: objects (the `object-download` workload's, the owbench binary an installer's nodes
//! download), presigned URLs to them, and deleting a bucket with what is in it.

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use owbench_provider::{Objects, PluginError, invalid, signer};

use crate::{Sdk, sdk_error};

/// Make `bucket` in the target's region unless it is there.
async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    sdk: &Sdk,
    bucket: &str,
) -> Result<(), PluginError> {
    if s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    let mut create = s3.create_bucket().bucket(bucket);
    let region = sdk.region.as_ref();
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
        Err(e) => Err(sdk_error(&format!("CreateBucket ({bucket})"), e)),
    }
}

impl Objects for Sdk {
    /// Store `data` as `bucket/key`, making the bucket if needed.
    async fn put_object(
        &self,
        bucket: String,
        key: String,
        data: Vec<u8>,
    ) -> Result<(), PluginError> {
        let s3 = self.s3();
        ensure_bucket(&s3, self, &bucket).await?;
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(data))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error(&format!("PutObject ({bucket}/{key})"), e))
    }

    /// A presigned GET URL of `bucket/key`: made here with the placeholder keys, then
    /// re-signed by the host with the user's.
    async fn object_url(
        &self,
        bucket: String,
        key: String,
        expires_secs: u32,
    ) -> Result<String, PluginError> {
        // SigV4 presigned URLs last at most 7 days.
        if !(1..=604_800).contains(&expires_secs) {
            return Err(invalid(format!(
                "a presigned URL lasts 1 to 604800 seconds (7 days), got {expires_secs}"
            )));
        }
        let config = PresigningConfig::expires_in(Duration::from_secs(u64::from(expires_secs)))
            .map_err(|e| invalid(format!("presigning: {e}")))?;
        let presigned = self
            .s3()
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .presigned(config)
            .await
            .map_err(|e| sdk_error(&format!("presign GetObject ({bucket}/{key})"), e))?;
        signer::presign(presigned.uri()).map_err(|reason| PluginError {
            message: format!("the host did not sign the URL of {bucket}/{key}: {reason}"),
            retryable: false,
            code: None,
        })
    }

    /// Delete every object of `bucket` (page by page), then the bucket.
    async fn delete_bucket(&self, bucket: String) -> Result<Vec<String>, PluginError> {
        let s3 = self.s3();
        let mut deleted = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = match s3
                .list_objects_v2()
                .bucket(&bucket)
                .set_continuation_token(token.take())
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) if e.code() == Some("NoSuchBucket") => return Ok(deleted),
                Err(e) => return Err(sdk_error(&format!("ListObjectsV2 ({bucket})"), e)),
            };
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                s3.delete_object()
                    .bucket(&bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| sdk_error(&format!("DeleteObject ({bucket}/{key})"), e))?;
                deleted.push(format!("object s3://{bucket}/{key}"));
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        match s3.delete_bucket().bucket(&bucket).send().await {
            Ok(_) => deleted.push(format!("bucket s3://{bucket}")),
            Err(e) if e.code() == Some("NoSuchBucket") => {}
            Err(e) => return Err(sdk_error(&format!("DeleteBucket ({bucket})"), e)),
        }
        Ok(deleted)
    }
}
