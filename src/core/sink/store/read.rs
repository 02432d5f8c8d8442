//! Reading a whole object back (`mediarecorder.decode` of an object-store URL), with the same
//! URL rules, credentials and options as recording to it.

use object_store::{GetOptions, ObjectStore};

use super::{runtime, with_causes};
use crate::core::sink::destination::{Destination, StorageOptions};
use crate::core::{Error, Result};

/// The bytes of the object `url` names; blocks (run it without the GIL).
pub fn read(url: &str, options: &StorageOptions) -> Result<Vec<u8>> {
    let Destination::Object(d) = Destination::parse(url, options)? else {
        return Err(Error::InvalidValue(format!("source: {url:?} is not an object store URL")));
    };
    let failed = |e: object_store::Error| match e {
        object_store::Error::NotFound { .. } => {
            Error::NotFound(format!("source: no object at {url:?}"))
        }
        e => Error::NotReadable(format!("source: cannot read {url:?}: {}", with_causes(&e))),
    };
    runtime()?.block_on(async {
        let got = d.store.get_opts(&d.path, GetOptions::default()).await.map_err(failed)?;
        Ok(got.bytes().await.map_err(failed)?.to_vec())
    })
}
