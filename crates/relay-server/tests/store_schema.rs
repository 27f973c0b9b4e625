//! The two migration directories (`migrations/sqlite`, `migrations/postgres`) must define the
//! same schema: the same numbered files, tables, columns (types reduced to what both databases
//! share), keys, checks and indexes. Checked twice: on the SQL text, and on migrated databases
//! (a SQLite file, and PostgreSQL when `DATABASE_URL` is set, in a schema of its own).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::{collections::BTreeSet, path::Path, str::FromStr};

use relay_server::store::SqlStore;
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

/// A column as a migration declares it, with the types reduced to what both databases share.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: String,
    kind: &'static str,
    not_null: bool,
    primary_key: bool,
    unique: bool,
    default: bool,
    references: Option<String>,
    check: Option<String>,
}

/// Tables (columns in order, then table constraints) and index statements of a migration file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: Vec<(String, Vec<Column>, Vec<String>)>,
    indexes: Vec<String>,
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn split_top_level(body: &str) -> Vec<String> {
    let (mut parts, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in body.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(words(&cur));
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(words(&cur));
    parts
}

fn column(def: &str) -> Column {
    let upper = def.to_ascii_uppercase();
    let mut it = def.split_whitespace();
    let name = it.next().unwrap().to_owned();
    let ty = it.next().unwrap().to_ascii_uppercase();
    let boolean_check = format!("CHECK ({} IN (0, 1))", name.to_ascii_uppercase());
    let kind = match ty.as_str() {
        "BOOLEAN" => "bool",
        "INTEGER" if upper.contains(&boolean_check) => "bool",
        "INTEGER" | "BIGINT" => "int",
        "TEXT" => "text",
        "BLOB" | "BYTEA" => "blob",
        other => panic!("unexpected type {other} in {def}"),
    };
    let references = upper.find("REFERENCES").map(|i| words(&def[i..]));
    let check = upper.find("CHECK").filter(|_| kind != "bool").map(|i| words(&def[i..]));
    Column {
        name,
        kind,
        not_null: upper.contains("NOT NULL"),
        primary_key: upper.contains("PRIMARY KEY"),
        unique: upper.contains(" UNIQUE"),
        default: ["DEFAULT", "GENERATED ALWAYS AS IDENTITY", "AUTOINCREMENT"].iter().any(|k| upper.contains(k)),
        references,
        check,
    }
}

fn parse_migration(sql: &str) -> Schema {
    let sql: String = sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut schema = Schema::default();
    for stmt in sql.split(';').map(words).filter(|s| !s.is_empty()) {
        if let Some(rest) = stmt.strip_prefix("CREATE TABLE ") {
            let (name, body) = rest.split_once(" (").unwrap();
            let body = &body[..body.rfind(')').unwrap()];
            let (mut cols, mut constraints) = (Vec::new(), Vec::new());
            for part in split_top_level(body) {
                let first = part.split_whitespace().next().unwrap().to_ascii_uppercase();
                if ["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"].contains(&first.as_str()) {
                    constraints.push(part);
                } else {
                    cols.push(column(&part));
                }
            }
            schema.tables.push((name.to_owned(), cols, constraints));
        } else if stmt.starts_with("CREATE INDEX") || stmt.starts_with("CREATE UNIQUE INDEX") {
            schema.indexes.push(stmt);
        } else {
            panic!("unexpected statement in a migration: {stmt}");
        }
    }
    schema
}

fn migration_files(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn both_migration_directories_define_the_same_schema() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sqlite), names(&postgres), "the same numbered files");
    assert!(!sqlite.is_empty());
    // The first migration creates every table, and is compared here statement by statement.
    // Later ones alter tables (and SQLite rebuilds where PostgreSQL alters): their result is
    // compared on live databases, in migrated_databases_have_the_same_tables_and_columns.
    for ((name, lite), (_, pg)) in sqlite.iter().zip(&postgres).take(1) {
        let (lite, pg) = (parse_migration(lite), parse_migration(pg));
        assert!(!lite.tables.is_empty(), "{name} defines tables");
        assert_eq!(lite, pg, "{name}: SQLite and PostgreSQL disagree");
    }
}

/// What a live database says about its tables: (table, column, type class, not null) in
/// column order, and the names of the indexes the migrations made.
type LiveSchema = (Vec<(String, String, String, bool)>, BTreeSet<String>);

async fn live_sqlite(s: &SqlStore) -> LiveSchema {
    let SqlStore::Sqlite(p) = s else { unreachable!() };
    let cols: Vec<(String, String, String, bool, i64)> = sqlx::query_as(
        "SELECT m.name, c.name, c.type, c.\"notnull\", c.pk FROM sqlite_master m, pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY m.name, c.cid",
    )
    .fetch_all(p)
    .await
    .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' AND sql IS NOT NULL",
    )
    .fetch_all(p)
    .await
    .unwrap();
    let class = |t: &str| match t {
        "INTEGER" => "integer",
        "TEXT" => "text",
        "BLOB" => "blob",
        other => panic!("SQLite type {other}"),
    };
    let cols = cols.into_iter().map(|(t, c, ty, nn, pk)| (t, c, class(&ty).to_owned(), nn || pk > 0)).collect();
    (cols, indexes.into_iter().collect())
}

async fn live_postgres(s: &SqlStore) -> LiveSchema {
    let SqlStore::Postgres(p) = s else { unreachable!() };
    let cols: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(p)
    .await
    .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
         AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' AND indexname NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(p)
    .await
    .unwrap();
    let class = |t: &str| match t {
        "bigint" | "boolean" => "integer",
        "text" => "text",
        "bytea" => "blob",
        other => panic!("PostgreSQL type {other}"),
    };
    let cols = cols.into_iter().map(|(t, c, ty, null)| (t, c, class(&ty).to_owned(), null == "NO")).collect();
    (cols, indexes.into_iter().collect())
}

#[tokio::test]
async fn migrated_databases_have_the_same_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    let lite = SqlStore::connect(&url).await.unwrap();
    let lite_schema = live_sqlite(&lite).await;
    lite.close().await;
    assert_eq!(lite_schema.0.iter().map(|c| &c.0).collect::<BTreeSet<_>>().len(), 9, "nine tables");
    let Ok(url) = std::env::var("DATABASE_URL") else {
        let required =
            ["CI", "INTEROP_REQUIRED"].iter().any(|v| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0"));
        assert!(!required, "DATABASE_URL is not set, and CI/INTEROP_REQUIRED make the PostgreSQL tests mandatory");
        eprintln!("skipped PostgreSQL: set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB to compare it too");
        return;
    };
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    let schema = format!("relay_test_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    let mut admin = PgConnection::connect(&url).await.unwrap();
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
    let options = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
    let pg = SqlStore::connect_postgres(options).await.unwrap();
    let pg_schema = live_postgres(&pg).await;
    pg.close().await;
    admin.execute(format!("DROP SCHEMA {schema} CASCADE").as_str()).await.unwrap();
    assert_eq!(lite_schema, pg_schema);
}
