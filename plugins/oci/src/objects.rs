//! Object Storage: the tenancy's namespace, buckets, PutObject,
//! CreatePreauthenticatedRequest for a time-limited download URL, and deleting a bucket
//! with its objects and pre-authenticated requests.

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

    /// Delete the bucket's pre-authenticated requests and objects (each listed page by
    /// page), then the bucket.
    async fn delete_bucket(&self, bucket: String) -> Result<Vec<String>, PluginError> {
        let ns = namespace(self).await?;
        let base = format!("/n/{}/b/{}", encode(&ns), encode(&bucket));
        let missing = |e: &PluginError| e.code.as_deref() == Some("BucketNotFound");
        let mut deleted = Vec::new();
        // Every pre-authenticated request, page by page (`opc-next-page`).
        let mut pars: Vec<Value> = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut url = self.objects(&format!("{base}/p/"));
            if let Some(p) = &page {
                url.push_str(&format!("?page={}", encode(p)));
            }
            let answer = match self
                .send(Method::GET, &url, None, &[], "ListPreauthenticatedRequests")
                .await
            {
                Ok(answer) => answer,
                Err(e) if missing(&e) => return Ok(deleted),
                Err(e) => return Err(e),
            };
            pars.extend(answer.json::<Vec<Value>>("ListPreauthenticatedRequests")?);
            match answer.header("opc-next-page") {
                Some(next) if !next.is_empty() => page = Some(next.to_owned()),
                _ => break,
            }
        }
        for par in &pars {
            let Some(id) = par["id"].as_str() else {
                continue;
            };
            let url = self.objects(&format!("{base}/p/{}", encode(id)));
            self.send(
                Method::DELETE,
                &url,
                None,
                &[],
                "DeletePreauthenticatedRequest",
            )
            .await?;
            deleted.push(format!(
                "pre-authenticated request {} of bucket {bucket}",
                par["name"].as_str().unwrap_or(id)
            ));
        }
        let mut start: Option<String> = None;
        loop {
            let mut url = self.objects(&format!("{base}/o"));
            if let Some(s) = &start {
                url.push_str(&format!("?start={}", encode(s)));
            }
            let page: Value = self.get(&url, "ListObjects").await?;
            for object in page["objects"].as_array().into_iter().flatten() {
                let Some(name) = object["name"].as_str() else {
                    continue;
                };
                let url = self.objects(&format!("{base}/o/{}", encode(name)));
                self.send(Method::DELETE, &url, None, &[], "DeleteObject")
                    .await?;
                deleted.push(format!("object {name} of bucket {bucket}"));
            }
            match page["nextStartWith"].as_str() {
                Some(next) => start = Some(next.to_owned()),
                None => break,
            }
        }
        match self
            .send(
                Method::DELETE,
                &self.objects(&base),
                None,
                &[],
                "DeleteBucket",
            )
            .await
        {
            Ok(_) => deleted.push(format!("bucket {bucket}")),
            Err(e) if missing(&e) => {}
            Err(e) => return Err(e),
        }
        Ok(deleted)
    }
}
