//! Object Storage: the tenancy's namespace, buckets, PutObject, and
//! CreatePreauthenticatedRequest for a time-limited download URL.

use serde_json::{Value, json};
use wstd::http::Method;

use owbench_provider::{Objects, PluginError, invalid};

use crate::api::{Api, encode};

/// The Object Storage namespace: setting `namespace`, else the tenancy's (GetNamespace).
async fn namespace(api: &Api) -> Result<String, PluginError> {
    if let Some(ns) = api.setting("namespace") {
        return Ok(ns.to_owned());
    }
    api.get::<String>(&api.objects("/n/"), "GetNamespace").await
}

/// Make `bucket` in the compartment unless it exists.
async fn ensure_bucket(api: &Api, ns: &str, bucket: &str) -> Result<(), PluginError> {
    let url = api.objects(&format!("/n/{}/b/{}", encode(ns), encode(bucket)));
    match api.get::<Value>(&url, "GetBucket").await {
        Ok(_) => return Ok(()),
        Err(e) if e.code.as_deref() == Some("BucketNotFound") => {}
        Err(e) => return Err(e),
    }
    let compartment = api.need(
        "compartment-id",
        "the compartment OCID to create the bucket in",
    )?;
    let created: Result<Value, _> = api
        .json(
            Method::POST,
            &api.objects(&format!("/n/{}/b/", encode(ns))),
            Some(&json!({ "name": bucket, "compartmentId": compartment })),
            &[],
            "CreateBucket",
        )
        .await;
    match created {
        Err(e) if e.code.as_deref() != Some("BucketAlreadyExists") => Err(e),
        _ => Ok(()),
    }
}

impl Objects for Api {
    /// PutObject `key` into `bucket` (made if missing).
    async fn put_object(
        &self,
        bucket: String,
        key: String,
        data: Vec<u8>,
    ) -> Result<(), PluginError> {
        let ns = namespace(self).await?;
        ensure_bucket(self, &ns, &bucket).await?;
        let url = self.objects(&format!(
            "/n/{}/b/{}/o/{}",
            encode(&ns),
            encode(&bucket),
            encode(&key)
        ));
        self.send(
            Method::PUT,
            &url,
            Some(data),
            &[("content-type", "application/octet-stream")],
            "PutObject",
        )
        .await
        .map(drop)
    }

    /// A pre-authenticated request (ObjectRead) for `key` that expires in `expires_secs`;
    /// its full URL.
    async fn object_url(
        &self,
        bucket: String,
        key: String,
        expires_secs: u32,
    ) -> Result<String, PluginError> {
        if expires_secs == 0 {
            return Err(invalid("expires-secs must be at least 1"));
        }
        let ns = namespace(self).await?;
        let expires =
            std::time::SystemTime::now() + std::time::Duration::from_secs(u64::from(expires_secs));
        let par: Value = self
            .json(
                Method::POST,
                &self.objects(&format!("/n/{}/b/{}/p/", encode(&ns), encode(&bucket))),
                Some(&json!({
                    "name": format!("owbench-{key}"),
                    "objectName": key,
                    "accessType": "ObjectRead",
                    "timeExpires": humantime::format_rfc3339_seconds(expires).to_string(),
                })),
                &[],
                "CreatePreauthenticatedRequest",
            )
            .await?;
        let uri = par["accessUri"]
            .as_str()
            .ok_or_else(|| invalid("CreatePreauthenticatedRequest: no accessUri in the answer"))?;
        Ok(self.objects(uri))
    }
}
