//! Tree paths (`["a"][0]`) for `--extract`, `set` and `unset`: parse, then get, set and unset
//! on a small tree.
#![no_main]

use leafcrypt_core::tree::{Map, Value};
use leafcrypt_core::treepath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(steps) = treepath::parse(text) else {
        return;
    };
    let mut root = Map::new();
    root.push("a", Value::List(vec![Value::Int(1), Value::Str("x".into())]));
    let mut inner = Map::new();
    inner.push("b", Value::Bool(true));
    root.push("m", Value::Map(inner));
    let _ = treepath::get(&root, &steps);
    let before = root.clone();
    // (An index past the end appends, as in sops, so `get` of the same path may miss.)
    if treepath::set(&mut root, &steps, Value::Null).is_err() {
        assert_eq!(root, before, "a refused set changes nothing");
    }
    let _ = treepath::unset(&mut root, &steps);
    let _ = treepath::render(&steps);
});
