//! The ids the embedded platform makes: activation ids and transaction ids (the record
//! types are `owbench_openwhisk`'s).

use rand::Rng;

/// A fresh activation id: 32 lowercase hex characters.
pub fn new_activation_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// A fresh transaction id (the `code` of API errors).
pub fn new_transaction_id() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_openwhisk_shape() {
        let id = new_activation_id();
        assert!(owbench_openwhisk::activation::is_activation_id(&id), "{id}");
        assert_eq!(new_transaction_id().len(), 32);
    }
}
