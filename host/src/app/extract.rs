//! Request extractors whose refusals speak a door's own error surface. axum's `Json`, `Path`
//! and `Query` refuse a bad body, path or query with a text/plain answer; wrapped by
//! [`extractors!`], each refusal becomes the door's error (the REST API's JSON error, the
//! UI's error page), as axum's error-handling example does it.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};

use super::error::AppError;

/// A rejection keeps its status (400, 413, 415, 422); its text says what was wrong.
macro_rules! rejected {
    ($rejection:ty, $what:literal) => {
        impl From<$rejection> for AppError {
            fn from(r: $rejection) -> Self {
                AppError::Rejected {
                    status: r.status(),
                    message: format!(
                        concat!("the ", $what, " is not acceptable: {}"),
                        r.body_text()
                    ),
                }
            }
        }
    };
}

rejected!(JsonRejection, "JSON body");
rejected!(PathRejection, "path");
rejected!(QueryRejection, "query");

/// Declares wrappers of axum's `Json`, `Path` and `Query` (each optional) that refuse with
/// `$error`, which must convert from [`AppError`] and answer as the door answers:
/// `extractors!(AppError => json AppJson, path AppPath, query AppQuery);`.
macro_rules! extractors {
    ($error:ty => $($kind:ident $name:ident),+ $(,)?) => {
        $($crate::app::extract::extractors!(@$kind $error, $name);)+
    };
    (@json $error:ty, $json:ident) => {
        /// axum's `Json`, refusing in this door's error surface.
        pub(crate) struct $json<T>(pub(crate) T);

        impl<T, S> axum::extract::FromRequest<S> for $json<T>
        where
            T: serde::de::DeserializeOwned,
            S: Send + Sync,
        {
            type Rejection = $error;

            async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, $error> {
                match axum::Json::<T>::from_request(req, state).await {
                    Ok(axum::Json(value)) => Ok($json(value)),
                    Err(r) => Err($crate::app::error::AppError::from(r).into()),
                }
            }
        }
    };
    (@path $error:ty, $path:ident) => {
        /// axum's `Path`, refusing in this door's error surface.
        pub(crate) struct $path<T>(pub(crate) T);

        impl<T, S> axum::extract::FromRequestParts<S> for $path<T>
        where
            T: serde::de::DeserializeOwned + Send,
            S: Send + Sync,
        {
            type Rejection = $error;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, $error> {
                match axum::extract::Path::<T>::from_request_parts(parts, state).await {
                    Ok(axum::extract::Path(value)) => Ok($path(value)),
                    Err(r) => Err($crate::app::error::AppError::from(r).into()),
                }
            }
        }
    };
    (@query $error:ty, $query:ident) => {
        /// axum's `Query`, refusing in this door's error surface.
        pub(crate) struct $query<T>(pub(crate) T);

        impl<T, S> axum::extract::FromRequestParts<S> for $query<T>
        where
            T: serde::de::DeserializeOwned,
            S: Send + Sync,
        {
            type Rejection = $error;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, $error> {
                match axum::extract::Query::<T>::from_request_parts(parts, state).await {
                    Ok(axum::extract::Query(value)) => Ok($query(value)),
                    Err(r) => Err($crate::app::error::AppError::from(r).into()),
                }
            }
        }
    };
}

pub(crate) use extractors;
