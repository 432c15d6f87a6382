//! Cloud credentials, held by the host and never by a plugin, and the signers that use
//! them on a provider plugin's behalf: the plugin signs with placeholder keys, the host
//! replaces each signature (see [`crate::engine::policy::RequestSigner`]).

pub mod aws;
