//! The test server: its URL from `GROMOZEKA_TEST_PG_URL` (`scripts/postgres start`
//! prints it), and a fresh schema per storage so that tests do not see each other.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use cache_storage_postgres::{PostgresOptions, PostgresStorage};
use postgres::{Client, Config, NoTls};

/// The test server's URL. Under CI (`CI=true`) a missing URL fails the test;
/// elsewhere the test is skipped with a loud message.
pub fn server_url() -> Option<String> {
    match std::env::var("GROMOZEKA_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "GROMOZEKA_TEST_PG_URL is not set under CI: .ci/run must start PostgreSQL \
                     (eval \"$(scripts/postgres start)\")"
                );
            }
            eprintln!(
                "\n!!! SKIPPED: no PostgreSQL server. Run `eval \"$(scripts/postgres start)\"` \
                 (or `just postgres`) and test again. !!!\n"
            );
            None
        }
    }
}

/// The URL of database `db` on the same server.
pub fn url_of_database(url: &str, db: &str) -> String {
    let mut config: Config = url.parse().expect("the test URL parses");
    config.dbname(db);
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    format!("postgres://{user}@{host}:{port}/{db}")
}

/// A client of the server at `url`.
pub fn admin(url: &str) -> Client {
    Client::connect(url, NoTls).expect("connect to the test server")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new empty schema on the server, dropped with the value.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    /// Creates `t_<prefix>_<pid>_<n>`.
    pub fn new(url: &str, prefix: &str) -> Schema {
        let name = format!(
            "t_{prefix}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(url)
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .expect("create the test schema");
        Schema {
            url: url.to_owned(),
            name,
        }
    }

    /// A connection configuration whose `search_path` is this schema.
    pub fn config(&self) -> Config {
        let mut config: Config = self.url.parse().expect("the test URL parses");
        config.options(&format!("-c search_path={}", self.name));
        config
    }

    /// A URL whose `search_path` is this schema.
    pub fn url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.url, self.name)
    }

    /// A plain client on this schema.
    pub fn client(&self) -> Client {
        self.config()
            .connect(NoTls)
            .expect("connect to the test schema")
    }

    /// The cache's storage on this schema; notifications go to a channel of
    /// the schema's name.
    pub fn open(&self, mut options: PostgresOptions) -> PostgresStorage {
        if options.channel.is_some() {
            options.channel = Some(self.name.clone());
        }
        PostgresStorage::from_config(self.config(), options).expect("open the storage")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.url, NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
