//! Cloud credentials, held by the host and never by a plugin, and the signers that use
//! them on a provider plugin's behalf (see [`owbench_plugin::policy::RequestSigner`]):
//! the host signs each request a plugin sends to an allowed host, replacing what the
//! plugin put there (AWS: a SigV4 signature with placeholder keys; OCI: nothing).

pub mod aws;
pub mod oci;
