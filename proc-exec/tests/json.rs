//! Postcard is not self-describing: what fails without `Json<T>` and crosses
//! with it (feature `json`).
#![cfg(feature = "json")]

mod common;

use common::{GUARD, builder, clean};
use future_core::ResultError;
use proc_exec::{Json, ProcessPoolExecutor, TaskError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn pool() -> ProcessPoolExecutor {
    builder().max_workers(1).build().unwrap()
}

/// Writes `note` only when there is one: postcard's reader cannot tell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Sparse {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    note: Option<String>,
    count: u32,
}

fn count_of(item: Sparse) -> u32 {
    item.count
}

fn count_of_json(item: Json<Sparse>) -> u32 {
    item.count
}

fn keys_of(doc: Json<Value>) -> Json<Value> {
    let keys: Vec<Value> = doc.as_object().unwrap().keys().map(|k| json!(k)).collect();
    Json(Value::Array(keys))
}

#[test]
fn a_skipped_field_fails_bare_and_crosses_as_json() {
    let clean = clean();
    let pool = pool();
    let bare = pool
        .submit(
            count_of,
            Sparse {
                note: None,
                count: 7,
            },
        )
        .unwrap();
    // `count` alone is written; the worker reads its 7 as `note`'s tag.
    match bare.result(GUARD) {
        Err(ResultError::Failed(TaskError::ArgDecode(message))) => {
            assert!(message.contains("argument"), "{message}");
        }
        other => panic!("expected ArgDecode, got {other:?}"),
    }
    let item = Json(Sparse {
        note: None,
        count: 7,
    });
    let wrapped = pool.submit(count_of_json, item).unwrap();
    assert_eq!(wrapped.result(GUARD), Ok(&7));
    drop(pool);
    clean.check();
}

#[test]
fn a_json_value_crosses_both_ways() {
    let clean = clean();
    let pool = pool();
    let doc = Json(json!({"b": [1, 2.5, null], "a": {"nested": true}}));
    let keys = pool.submit(keys_of, doc).unwrap().into_result().unwrap();
    assert_eq!(keys.into_inner(), json!(["a", "b"]));
    drop(pool);
    clean.check();
}
