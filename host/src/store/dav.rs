//! TEMPORARY stub (uncommitted): replaced by the dav-locks branch.
use super::{Store, StoreError};
#[derive(Debug, Clone)]
pub(crate) struct DeadProp {
    pub(crate) namespace: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) name: String,
    pub(crate) xml: Option<Vec<u8>>,
}
impl Store {
    pub(crate) async fn dav_props(
        &self,
        _ws: &str,
        _path: &str,
    ) -> Result<Vec<DeadProp>, StoreError> {
        Ok(vec![])
    }
    pub(crate) async fn dav_patch_props(
        &self,
        _ws: &str,
        _path: &str,
        _set: Vec<DeadProp>,
        _remove: Vec<(Option<String>, String)>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    pub(crate) async fn dav_props_moved(
        &self,
        _ws: &str,
        _f: &str,
        _t: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    pub(crate) async fn dav_props_copied(
        &self,
        _ws: &str,
        _f: &str,
        _t: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    pub(crate) async fn dav_props_deleted(&self, _ws: &str, _p: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
