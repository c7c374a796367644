//! The recording, failing mock storage that the core's and the hosts' tests rely on:
//! a rule fails exactly the calls it names, exactly as many times as it says.

use cache_core::{
    Batch, Call, FailRule, MockStorage, Row, RowKey, Storage, StorageError, StorageErrorKind,
};

fn full() -> StorageError {
    StorageError::new(StorageErrorKind::Full, "disk full")
}

fn batch_of_one() -> cache_core::Batch<'static> {
    let mut batch = cache_core::Batch::default();
    batch.upsert.push(cache_core::Row {
        namespace: "n",
        key: "k",
        value: "1".into(),
    });
    batch
}

#[test]
fn a_counted_rule_fails_that_many_calls_then_lets_them_through() {
    let mut s = MockStorage::new();
    s.fail_writes = Some(FailRule {
        times: Some(2),
        ..FailRule::always(full())
    });
    let batch = batch_of_one();
    assert_eq!(s.write(&batch).unwrap_err().kind, StorageErrorKind::Full);
    assert_eq!(s.write(&batch).unwrap_err().kind, StorageErrorKind::Full);
    s.write(&batch).expect("the third write succeeds");
    s.write(&batch).expect("and so do later ones");
    assert_eq!(s.get("n", "k").unwrap().as_deref(), Some("1"));
    assert_eq!(s.calls.len(), 5, "every call is recorded, failed or not");
}

#[test]
fn an_unlimited_rule_fails_every_call() {
    let mut s = MockStorage::new();
    s.fail_writes = Some(FailRule::always(full()));
    for _ in 0..5 {
        assert!(s.write(&batch_of_one()).is_err());
    }
    assert_eq!(s.get("n", "k").unwrap(), None, "nothing was applied");
}

#[test]
fn a_rule_fails_only_the_functions_it_names() {
    let mut s = MockStorage::new();
    s.put_row("n", "k", "1");
    s.fail_reads = Some(FailRule {
        functions: Some(vec!["get".into()]),
        ..FailRule::always(full())
    });
    assert!(s.get("n", "k").is_err(), "get is named");
    assert_eq!(s.load("n", 10).unwrap().len(), 1, "load is not");
    s.write(&batch_of_one())
        .expect("a read rule never fails writes");
}

#[test]
fn a_boxed_storage_forwards_every_call() {
    use cache_core::{BotStorage, SettingsChange};
    let mut inner = MockStorage::new();
    inner.put_row("n", "old", "2");
    let mut boxed: Box<MockStorage> = Box::new(inner);
    boxed.write(&batch_of_one()).unwrap();
    assert_eq!(
        Storage::get(&mut boxed, "n", "k").unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(Storage::load(&mut boxed, "n", 10).unwrap().len(), 2);
    boxed
        .write_chat_settings(7, &SettingsChange::Merge(vec![("a".into(), "b".into())]))
        .unwrap();
    assert_eq!(
        boxed.get_chat_settings(7).unwrap(),
        [("a".to_string(), "b".to_string())]
    );
    boxed.set_user_data(7, 8, "x", "1").unwrap();
    assert_eq!(
        boxed.get_user_data(7, 8).unwrap(),
        [("x".to_string(), "1".to_string())]
    );
    assert_eq!(
        boxed.call_names(),
        [
            "write",
            "get",
            "load",
            "write-chat-settings",
            "get-chat-settings",
            "set-user-data",
            "get-user-data"
        ]
    );
}

#[test]
fn a_write_call_gives_back_its_batch() {
    let batch = Batch {
        clear: vec!["a"],
        delete: vec![RowKey {
            namespace: "b",
            key: "k",
        }],
        upsert: vec![Row {
            namespace: "c",
            key: "j",
            value: "1".into(),
        }],
    };
    let call = Call::write_of(&batch);
    assert_eq!(call.batch(), Some(batch));
    assert_eq!(Call::GetChatSettings { chat_id: 1 }.batch(), None);
}
