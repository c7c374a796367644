//! Many threads sharing one `CacheService`: no deadlock, no lost update.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use cache_host::{NamespaceConfig, Persistence, Policy};
use common::{builder, temp_db, within};

const THREADS: usize = 8;
const OPS: usize = 400;

#[test]
fn many_threads_mixed_operations_final_state_matches_the_writes() {
    let (_dir, db) = temp_db();
    let ns = |name: &str, persistence| NamespaceConfig {
        name: name.into(),
        max_entries: 100_000,
        persistence,
    };
    let policy = Policy::new(vec![
        ns("chats", Persistence::OnShutdown),
        ns("chatUsers", Persistence::OnChange),
        ns("users", Persistence::MemoryOnly),
    ])
    .unwrap();
    let cache = builder().policy(policy.clone()).open_sqlite(&db).unwrap();

    let workers = cache.clone();
    let expected: Vec<HashMap<(String, String), Option<String>>> =
        within(Duration::from_secs(120), move || {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let cache = workers.clone();
                    std::thread::spawn(move || {
                        let mut mine = HashMap::new();
                        for i in 0..OPS {
                            let ns = ["chats", "chatUsers", "users"][i % 3];
                            let key = format!("t{t}-k{}", i % 37);
                            match i % 7 {
                                0..=2 => {
                                    let v = format!(r#"{{"t":{t},"i":{i}}}"#);
                                    cache.set(ns, &key, &v).unwrap();
                                    mine.insert((ns.to_string(), key), Some(v));
                                }
                                3 => {
                                    cache.delete(ns, &key).unwrap();
                                    mine.insert((ns.to_string(), key), None);
                                }
                                4 => {
                                    let got = cache.get(ns, &key).unwrap();
                                    if let Some(want) = mine.get(&(ns.to_string(), key.clone())) {
                                        assert_eq!(&got, want, "thread {t} read its own write");
                                    }
                                }
                                5 => {
                                    // Every thread adds its own item to the same user's
                                    // data: a lost update would drop one.
                                    cache
                                        .set_user_data(-1, 1, &format!("t{t}-{i}"), &i.to_string())
                                        .unwrap();
                                }
                                _ => {
                                    let entries: Vec<(String, String)> = (0..3)
                                        .map(|j| (format!("t{t}-m{j}"), format!("{i}")))
                                        .collect();
                                    cache.set_many(ns, &entries).unwrap();
                                    for (k, v) in entries {
                                        mine.insert((ns.to_string(), k), Some(v));
                                    }
                                }
                            }
                        }
                        mine
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

    let check = |cache: &cache_host::CacheService, with_memory_only: bool| {
        for mine in &expected {
            for ((ns, key), want) in mine {
                if ns == "users" && !with_memory_only {
                    continue;
                }
                assert_eq!(&cache.get(ns, key).unwrap(), want, "{ns}/{key}");
            }
        }
        let data: serde_json::Value =
            serde_json::from_str(&cache.get_user_data(-1, 1).unwrap()).unwrap();
        let items = data.as_object().unwrap().len();
        let per_thread = (0..OPS).filter(|i| i % 7 == 5).count();
        assert_eq!(items, THREADS * per_thread, "user data items lost");
    };
    check(&cache, true);
    cache.close().unwrap();
    drop(cache);

    let cache = builder().policy(policy).open_sqlite(&db).unwrap();
    check(&cache, false);
    cache.close().unwrap();
}
