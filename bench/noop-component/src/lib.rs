//! A no-op component for the benchmarks (`bench/`): it exports one `get` with
//! the signature of the cache's `get` and returns a fixed value, so the cost of
//! crossing the Wasm boundary can be measured apart from the cache's logic.
//! Natively this crate is empty; `bench/build-noop` builds it for wasm32.

#[cfg(target_arch = "wasm32")]
mod guest {
    use exports::gromozeka::bench_noop::cache::{CacheError, Guest};

    wit_bindgen::generate!({ world: "noop", path: "wit" });

    export!(Noop);

    /// The exported interface's implementation.
    struct Noop;

    /// 64 bytes of JSON.
    const SMALL: &str = r#"{"lang":"en","tz":"Europe/Berlin","admin":true,"pad":"xxxxxxxx"}"#;

    /// 2048 bytes of JSON: `{"pad":"xx…x"}`.
    static BIG: &str = match std::str::from_utf8(&BIG_BYTES) {
        Ok(s) => s,
        Err(_) => panic!("not UTF-8"),
    };

    static BIG_BYTES: [u8; 2048] = big_bytes();

    const fn big_bytes() -> [u8; 2048] {
        let mut b = [b'x'; 2048];
        let head = b"{\"pad\":\"";
        let mut i = 0;
        while i < head.len() {
            b[i] = head[i];
            i += 1;
        }
        b[2046] = b'"';
        b[2047] = b'}';
        b
    }

    impl Guest for Noop {
        fn get(namespace: String, _key: String) -> Result<Option<String>, CacheError> {
            let value = if namespace == "v2k" { BIG } else { SMALL };
            Ok(Some(String::from(value)))
        }
    }
}
