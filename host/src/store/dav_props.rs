//! WebDAV dead properties (PROPPATCH): what a client stored on a resource, kept in the store
//! so that every instance sharing the database answers the same PROPFIND, and so that they
//! follow the resource through MOVE and COPY and go with DELETE.
//!
//! A resource is (workspace id, driver path): the path relative to the workspace, normalized,
//! without leading or trailing slash, `""` for the workspace root (`"a/b.txt"`). "Under" a
//! path is `path/…`, never `pathX…`: the store compares byte ranges
//! (`[path + "/", path + "0")`, `'0'` being the byte after `'/'`), not `LIKE`, whose wildcards
//! (`%`, `_`) are legal in names and which SQLite compares without case.

use super::{Store, StoreError};

/// The largest XML of one property a client may store, in bytes.
pub(crate) const MAX_PROP_XML: usize = 64 * 1024;
/// The most dead properties one resource may hold.
pub(crate) const MAX_PROPS_PER_RESOURCE: usize = 256;
/// The longest property name or namespace, in bytes (the XML bound covers the value; this
/// bounds the key columns).
pub(crate) const MAX_PROP_NAME: usize = 1024;

/// One dead property: its qualified name and the whole property element as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadProp {
    /// The XML namespace; `None` for a property in no namespace (stored as `''`: an empty
    /// namespace name is no namespace in XML).
    pub(crate) namespace: Option<String>,
    /// The prefix the client used, kept to answer in its terms.
    pub(crate) prefix: Option<String>,
    /// The local name.
    pub(crate) name: String,
    /// The property element as the client sent it.
    pub(crate) xml: Option<Vec<u8>>,
}

/// One instruction of a PROPPATCH; a patch applies them in order (RFC 4918 9.2), so a set
/// then a remove of one name leaves it absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PropChange {
    /// Set (create or replace) a property.
    Set(DeadProp),
    /// Remove a property (namespace, name); removing an absent one is no error.
    Remove(Option<String>, String),
}

/// The three values that select a path and everything under it (`path = $a OR (path >= $b
/// AND path < $c)`); `None` when `path` is the root, under which everything is.
pub(super) fn subtree(path: &str) -> Option<[String; 3]> {
    (!path.is_empty()).then(|| [path.to_owned(), format!("{path}/"), format!("{path}0")])
}

/// The SQL condition matching `subtree`'s three values bound from `$first`.
pub(super) fn subtree_sql(first: usize) -> String {
    format!(
        "(path = ${first} OR (path >= ${} AND path < ${}))",
        first + 1,
        first + 2
    )
}

/// Refuses a path that is not a driver path: relative, normalized, no empty, `.` or `..`
/// segment, no NUL.
fn check_path(path: &str) -> Result<(), StoreError> {
    if path.is_empty() {
        return Ok(());
    }
    let bad = path.contains('\0')
        || path
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    if bad {
        return Err(StoreError::Invalid(format!(
            "'{path}' is not a driver path: expected a relative, normalized path without a \
             leading or trailing slash, '' for the workspace root"
        )));
    }
    Ok(())
}

/// Whether `inner` is `outer` or under it.
fn within(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn check_prop(prop: &DeadProp) -> Result<(), StoreError> {
    let key = prop
        .name
        .len()
        .max(prop.namespace.as_deref().map_or(0, str::len));
    if prop.name.is_empty() {
        return Err(StoreError::Invalid(
            "a property name must not be empty".into(),
        ));
    }
    if key > MAX_PROP_NAME {
        return Err(StoreError::PropTooLarge {
            name: shorten(&prop.name),
            size: key,
            max: MAX_PROP_NAME,
        });
    }
    let size = prop.xml.as_ref().map_or(0, Vec::len);
    if size > MAX_PROP_XML {
        return Err(StoreError::PropTooLarge {
            name: shorten(&prop.name),
            size,
            max: MAX_PROP_XML,
        });
    }
    Ok(())
}

/// A name cut to a length an error message can carry.
fn shorten(name: &str) -> String {
    const SHOWN: usize = 64;
    match name.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// A row of `dav_props`: namespace (`''` for none), prefix, name, XML.
type PropRow = (String, Option<String>, String, Option<Vec<u8>>);

/// Which end of a MOVE or COPY: a workspace and a driver path in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PropsAt<'a> {
    /// The workspace id.
    pub(crate) workspace: &'a str,
    /// The driver path.
    pub(crate) path: &'a str,
}

impl Store {
    /// The dead properties of one resource, sorted by namespace then name.
    pub(crate) async fn dav_props(
        &self,
        workspace: &str,
        path: &str,
    ) -> Result<Vec<DeadProp>, StoreError> {
        check_path(path)?;
        let rows: Vec<PropRow> = sqlx::query_as(
            "SELECT namespace, prefix, name, xml FROM dav_props WHERE workspace = $1 AND path = $2",
        )
        .bind(workspace)
        .bind(path)
        .fetch_all(&self.pool)
        .await?;
        let mut props: Vec<DeadProp> = rows
            .into_iter()
            .map(|(namespace, prefix, name, xml)| DeadProp {
                namespace: (!namespace.is_empty()).then_some(namespace),
                prefix,
                name,
                xml,
            })
            .collect();
        // Sorted here, not by ORDER BY: the backends' text orders differ.
        props.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(props)
    }

    /// Whether workspace `workspace` holds any dead property: most never do, and a PROPFIND
    /// of theirs then asks no resource's.
    pub(crate) async fn dav_any_props(&self, workspace: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM dav_props WHERE workspace = $1 LIMIT 1")
                .bind(workspace)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// Whether one resource holds any dead property.
    #[cfg(test)]
    pub(crate) async fn dav_has_props(
        &self,
        workspace: &str,
        path: &str,
    ) -> Result<bool, StoreError> {
        check_path(path)?;
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM dav_props WHERE workspace = $1 AND path = $2 LIMIT 1")
                .bind(workspace)
                .bind(path)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// Applies a PROPPATCH to one resource, in order, in one transaction: all or nothing.
    /// A property too large is [`StoreError::PropTooLarge`]; more than
    /// [`MAX_PROPS_PER_RESOURCE`] afterwards is [`StoreError::TooManyProps`] (nothing changed).
    pub(crate) async fn dav_patch_props(
        &self,
        workspace: &str,
        path: &str,
        changes: Vec<PropChange>,
    ) -> Result<(), StoreError> {
        check_path(path)?;
        for change in &changes {
            if let PropChange::Set(prop) = change {
                check_prop(prop)?;
            }
        }
        let mut tx = self.pool.begin().await?;
        let mut added = false;
        for change in changes {
            match change {
                PropChange::Set(prop) => {
                    sqlx::query(
                        "INSERT INTO dav_props (workspace, path, namespace, name, prefix, xml) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (workspace, path, namespace, name) \
                         DO UPDATE SET prefix = excluded.prefix, xml = excluded.xml",
                    )
                    .bind(workspace)
                    .bind(path)
                    .bind(prop.namespace.unwrap_or_default())
                    .bind(prop.name)
                    .bind(prop.prefix)
                    .bind(prop.xml)
                    .execute(&mut *tx)
                    .await?;
                    added = true;
                }
                PropChange::Remove(namespace, name) => {
                    sqlx::query(
                        "DELETE FROM dav_props \
                         WHERE workspace = $1 AND path = $2 AND namespace = $3 AND name = $4",
                    )
                    .bind(workspace)
                    .bind(path)
                    .bind(namespace.unwrap_or_default())
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if added {
            // Counted inside the transaction, so a refused patch leaves nothing behind. Two
            // patches of one resource committed at once on PostgreSQL may each see the other
            // absent and pass together: the bound is on what a client can pile up, not exact.
            let (count,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM dav_props WHERE workspace = $1 AND path = $2")
                    .bind(workspace)
                    .bind(path)
                    .fetch_one(&mut *tx)
                    .await?;
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count > MAX_PROPS_PER_RESOURCE {
                return Err(StoreError::TooManyProps {
                    path: format!("{workspace}:/{path}"),
                    count,
                    max: MAX_PROPS_PER_RESOURCE,
                });
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a MOVE: the properties of `from` and everything under it now belong at `to`,
    /// replacing what was at `to` and under it.
    pub(crate) async fn dav_props_moved(
        &self,
        from: PropsAt<'_>,
        to: PropsAt<'_>,
    ) -> Result<(), StoreError> {
        self.relocate(from, to, Relocation::Move).await
    }

    /// After a COPY: the properties of `from` and everything under it are copied to `to`,
    /// replacing what was at `to` and under it.
    pub(crate) async fn dav_props_copied(
        &self,
        from: PropsAt<'_>,
        to: PropsAt<'_>,
    ) -> Result<(), StoreError> {
        self.relocate(from, to, Relocation::Copy).await
    }

    /// After a DELETE: the properties of `path` and everything under it go.
    pub(crate) async fn dav_props_deleted(
        &self,
        workspace: &str,
        path: &str,
    ) -> Result<(), StoreError> {
        check_path(path)?;
        let mut tx = self.pool.begin().await?;
        delete_subtree(&mut tx, workspace, path).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn relocate(
        &self,
        from: PropsAt<'_>,
        to: PropsAt<'_>,
        how: Relocation,
    ) -> Result<(), StoreError> {
        check_path(from.path)?;
        check_path(to.path)?;
        if from == to {
            return Ok(());
        }
        if from.workspace == to.workspace
            && (within(to.path, from.path) || within(from.path, to.path))
        {
            return Err(StoreError::Invalid(format!(
                "cannot move or copy '{}' to '{}': one is inside the other",
                from.path, to.path
            )));
        }
        // The new path of a row: `to` for `from` itself, else `to/` + what follows `from/`
        // (substr counts characters on both backends, as `chars()` does).
        let rest_start = if from.path.is_empty() {
            1
        } else {
            from.path.chars().count() + 2
        };
        let to_prefix = if to.path.is_empty() {
            String::new()
        } else {
            format!("{}/", to.path)
        };
        let new_path =
            "CASE WHEN path = $2 THEN $3 ELSE $4 || substr(path, CAST($5 AS INTEGER)) END";
        let mut sql = match how {
            Relocation::Move => {
                format!(
                    "UPDATE dav_props SET workspace = $1, path = {new_path} WHERE workspace = $6"
                )
            }
            Relocation::Copy => format!(
                "INSERT INTO dav_props (workspace, path, namespace, name, prefix, xml) \
                 SELECT $1, {new_path}, namespace, name, prefix, xml FROM dav_props \
                 WHERE workspace = $6"
            ),
        };
        let range = subtree(from.path);
        if range.is_some() {
            sql.push_str(" AND ");
            sql.push_str(&subtree_sql(7));
        }

        let mut tx = self.pool.begin().await?;
        delete_subtree(&mut tx, to.workspace, to.path).await?;
        let mut query = sqlx::query(&sql)
            .bind(to.workspace)
            .bind(from.path)
            .bind(to.path)
            .bind(to_prefix)
            .bind(i64::try_from(rest_start).unwrap_or(i64::MAX))
            .bind(from.workspace);
        for value in range.into_iter().flatten() {
            query = query.bind(value);
        }
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Relocation {
    Move,
    Copy,
}

/// Deletes the properties of `path` and everything under it, in `tx`.
async fn delete_subtree(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    workspace: &str,
    path: &str,
) -> Result<(), StoreError> {
    let range = subtree(path);
    let mut sql = "DELETE FROM dav_props WHERE workspace = $1".to_owned();
    if range.is_some() {
        sql.push_str(" AND ");
        sql.push_str(&subtree_sql(2));
    }
    let mut query = sqlx::query(&sql).bind(workspace);
    for value in range.into_iter().flatten() {
        query = query.bind(value);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
