//! The DuckDB store: one table of JSON rows keyed by `kind|account|region|arn`.
//!
//! Only the primary key is indexed: AWS's uniqueness rules and cascades live in code, and
//! DuckDB rewrites updates of indexed rows as delete+insert anyway. The connection belongs to
//! the writer thread alone; reads are served from memory.

use crate::state::{RowChange, World};
use duckdb::{params, Connection};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The schema version this build writes. Older data dirs are migrated, newer ones refused.
pub const SCHEMA_VERSION: i64 = 1;
/// The database file inside the data dir.
pub const DB_FILE: &str = "localelb.duckdb";
/// The lock file inside the data dir: held (advisory, exclusive) while a server uses the dir.
pub const LOCK_FILE: &str = "localelb.lock";

/// A store failure.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for StoreError {}

impl From<duckdb::Error> for StoreError {
    fn from(e: duckdb::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// The open database.
pub struct Store {
    conn: Connection,
    /// The data dir's lock, released when the store is dropped (after `conn`, fields drop in
    /// order) or the process ends.
    _lock: Option<File>,
}

impl Store {
    /// Opens (creating or migrating) the store in `dir`, or an in-memory one.
    /// A data dir another server holds is refused before its database is opened.
    pub fn open(dir: Option<&Path>) -> Result<Store, StoreError> {
        let (conn, lock) = match dir {
            None => (Connection::open_in_memory()?, None),
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError(format!("cannot create data dir {}: {e}", dir.display()))
                })?;
                let lock = lock_dir(dir)?;
                let path: PathBuf = dir.join(DB_FILE);
                let conn = Connection::open(&path).map_err(|e| open_error(&path, e))?;
                (conn, Some(lock))
            }
        };
        // One thread and a small memory budget: the store holds little and writes one row at a time.
        conn.execute_batch("SET threads=1; SET memory_limit='256MB';")?;
        let store = Store { conn, _lock: lock };
        store.migrate(dir)?;
        Ok(store)
    }

    fn migrate(&self, dir: Option<&Path>) -> Result<(), StoreError> {
        let file = dir
            .map(|d| d.join(DB_FILE).display().to_string())
            .unwrap_or_else(|| "(memory)".into());
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);",
        )?;
        let version: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .ok();
        let version: i64 = match version {
            None => 0,
            Some(v) => v.parse().map_err(|_| {
                StoreError(format!("data file {file} has an unreadable schema version '{v}'; start with --ephemeral or move it away"))
            })?,
        };
        if version > SCHEMA_VERSION {
            return Err(StoreError(format!(
                "data file {file} has schema version {version}, newer than this localelb supports ({SCHEMA_VERSION}); \
                 upgrade localelb, or start with --ephemeral"
            )));
        }
        // Each step moves the schema from version N to N+1.
        if version < 1 {
            self.conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS resources(
                    key VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, account VARCHAR NOT NULL,
                    region VARCHAR NOT NULL, body VARCHAR NOT NULL);
                 INSERT OR REPLACE INTO meta VALUES ('schema_version', '1');
                 COMMIT;",
            )?;
        }
        Ok(())
    }

    /// Reads every row into a world.
    pub fn load(&self) -> Result<World, StoreError> {
        let mut world = World::default();
        let mut stmt = self
            .conn
            .prepare("SELECT key, kind, account, region, body FROM resources")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        for row in rows {
            let (key, kind, account, region, body) = row?;
            let scope = Arc::make_mut(world.scope_mut(&account, &region));
            scope.restore(&kind, &key, &body).map_err(StoreError)?;
        }
        for scope in world.scopes.values_mut() {
            Arc::make_mut(scope).fix_seq();
        }
        Ok(world)
    }

    /// Writes a batch of changes in one transaction.
    pub fn commit(&mut self, changes: &[RowChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut up = tx.prepare_cached(
                "INSERT OR REPLACE INTO resources(key, kind, account, region, body) VALUES (?, ?, ?, ?, ?)",
            )?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO resources(key, kind, account, region, body) VALUES (?, ?, ?, ?, ?)",
            )?;
            let mut del = tx.prepare_cached("DELETE FROM resources WHERE key = ?")?;
            for c in changes {
                match &c.body {
                    Some(body) if c.new => {
                        ins.execute(params![c.key, c.kind, c.account, c.region, body])?;
                    }
                    Some(body) => {
                        up.execute(params![c.key, c.kind, c.account, c.region, body])?;
                    }
                    None => {
                        del.execute(params![c.key])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes everything (the test-suite reset).
    pub fn clear(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("DELETE FROM resources;")?;
        Ok(())
    }
}

/// Takes the data dir's lock and records this process's id in it (for the next one's message).
/// Nothing else in the dir is read or written before the lock is held.
fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError(format!("cannot open lock file {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let pid = holder.trim();
            let by = if pid.is_empty() {
                String::new()
            } else {
                format!(" (pid {pid})")
            };
            return Err(in_use(dir, &by));
        }
        Err(TryLockError::Error(e)) => {
            return Err(StoreError(format!("cannot lock {}: {e}", path.display())))
        }
    }
    // The pid is informative only; the lock is what keeps others out.
    let _ = file
        .set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| writeln!(file, "{}", std::process::id()));
    Ok(file)
}

fn in_use(dir: &Path, by: &str) -> StoreError {
    StoreError(format!(
        "data dir {} is in use by another localelb process{by}; its files are untouched. \
         Stop that server, or start this one with another --data-dir or with --ephemeral",
        dir.display()
    ))
}

/// DuckDB's own lock error (a process that is not a localelb holding the file, e.g. the DuckDB
/// CLI) is "in use" too; anything else means the file is not a database we can read.
fn open_error(path: &Path, e: duckdb::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("Could not set lock on file") {
        return StoreError(format!(
            "data file {} is in use by another process ({text}); its files are untouched. \
             Stop that process, or start with another --data-dir or with --ephemeral",
            path.display()
        ));
    }
    StoreError(format!(
        "cannot open data file {}: {text}. It is corrupt or not a localelb database; \
         move it away, or start with --ephemeral",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Ec2Rec, Scope};

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "localelb-store-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn rec(id: &str) -> Ec2Rec {
        Ec2Rec {
            kind: "vpc".into(),
            id: id.into(),
            fields: Default::default(),
            tags: vec![],
            seq: 1,
        }
    }

    #[test]
    fn commits_survive_reopen_and_deletes_stick() {
        let dir = temp_dir("reopen");
        {
            let mut store = Store::open(Some(&dir)).unwrap();
            let mut scope = Scope::new("111111111111", "eu-west-1");
            scope.ec2.insert("vpc-1".into(), rec("vpc-1"));
            scope.ec2.insert("vpc-2".into(), rec("vpc-2"));
            let mut changes = Vec::new();
            scope.take_changes(&mut changes);
            store.commit(&changes).unwrap();
            // Update one row and delete the other in the same transaction.
            scope.ec2.get_mut("vpc-1").unwrap().seq = 7;
            scope.ec2.remove("vpc-2");
            let mut changes = Vec::new();
            scope.take_changes(&mut changes);
            store.commit(&changes).unwrap();
        }
        let store = Store::open(Some(&dir)).unwrap();
        let world = store.load().unwrap();
        let scope = world.scope("111111111111", "eu-west-1").unwrap();
        assert_eq!(scope.ec2.get("vpc-1").unwrap().seq, 7);
        assert!(scope.ec2.get("vpc-2").is_none());
        assert_eq!(scope.next_seq, 7);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn newer_schema_is_refused_with_file_and_ephemeral_hint() {
        let dir = temp_dir("newer");
        {
            let store = Store::open(Some(&dir)).unwrap();
            store
                .conn
                .execute_batch("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
                .unwrap();
        }
        let err = Store::open(Some(&dir)).err().expect("refused").0;
        assert!(
            err.contains(DB_FILE) && err.contains("--ephemeral") && err.contains("99"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn unversioned_file_is_migrated() {
        let dir = temp_dir("old");
        {
            let conn = Connection::open(dir.join(DB_FILE)).unwrap();
            conn.execute_batch("CREATE TABLE unrelated(x INTEGER);")
                .unwrap();
        }
        let store = Store::open(Some(&dir)).unwrap();
        let v: String = store
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key='schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION.to_string());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn corrupt_file_is_refused() {
        let dir = temp_dir("corrupt");
        std::fs::write(dir.join(DB_FILE), b"not a database").unwrap();
        let err = Store::open(Some(&dir)).err().expect("refused").0;
        assert!(
            err.contains(DB_FILE) && err.contains("--ephemeral"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn second_open_of_a_dir_in_use_is_refused_and_leaves_it_intact() {
        let dir = temp_dir("locked");
        let mut first = Store::open(Some(&dir)).unwrap();
        let mut scope = Scope::new("111111111111", "eu-west-1");
        scope.ec2.insert("vpc-1".into(), rec("vpc-1"));
        let mut changes = Vec::new();
        scope.take_changes(&mut changes);
        first.commit(&changes).unwrap();

        let err = Store::open(Some(&dir)).err().expect("refused").0;
        assert!(
            err.contains("in use by another localelb")
                && err.contains(&dir.display().to_string())
                && err.contains(&format!("pid {}", std::process::id()))
                && !err.contains("corrupt"),
            "{err}"
        );
        // The first store still works, and after it is gone the dir opens with its rows.
        first.commit(&[]).unwrap();
        assert!(first
            .load()
            .unwrap()
            .scope("111111111111", "eu-west-1")
            .is_some());
        drop(first);
        let again = Store::open(Some(&dir)).unwrap();
        let world = again.load().unwrap();
        assert!(world
            .scope("111111111111", "eu-west-1")
            .unwrap()
            .ec2
            .get("vpc-1")
            .is_some());
        drop(again);
        std::fs::remove_dir_all(dir).ok();
    }
}
