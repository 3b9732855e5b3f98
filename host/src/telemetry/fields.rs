//! How the text log format writes the fields of a line (the message, `user=…`, a span's
//! `id=…`). Every value is escaped here, whoever logs it and whatever the value holds: a
//! client-supplied name, path or header containing a newline (or an ANSI escape) would
//! otherwise start a genuine-looking log line of its own, or drive the terminal of whoever
//! reads the log. Control characters (C0, DEL, C1) and the Unicode line and paragraph
//! separators are written as `\n`, `\r`, `\t` or `\u{…}`. The JSON format needs none of this:
//! serde_json escapes every string it writes.
//!
//! The layout is `tracing_subscriber`'s default one (`message name=value …`, `Debug` values,
//! `log.*` fields skipped), without ANSI styling of the field names.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

/// The field formatter of the text log format: `tracing_subscriber`'s default layout, with
/// every value escaped.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EscapedFields;

impl<'a> MakeVisitor<Writer<'a>> for EscapedFields {
    type Visitor = EscapedVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        EscapedVisitor {
            writer: target,
            is_empty: true,
            result: Ok(()),
        }
    }
}

/// Writes the fields of one event or span.
pub(crate) struct EscapedVisitor<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl EscapedVisitor<'_> {
    fn write(&mut self, name: &str, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        // Log metadata bridged from the `log` crate, already shown in the line's head.
        if name.starts_with("log.") {
            return;
        }
        if self.is_empty {
            self.is_empty = false;
        } else if let Err(e) = self.writer.write_char(' ') {
            self.result = Err(e);
            return;
        }
        let mut out = Escaping(&mut self.writer);
        self.result = match name {
            "message" => out.write_fmt(value),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(out, "{name}=").and_then(|()| out.write_fmt(value))
            }
        };
    }
}

impl Visit for EscapedVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field.name(), format_args!("{value}"));
        } else {
            self.write(field.name(), format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.write(field.name(), format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field.name(), format_args!("{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for EscapedVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for EscapedVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Passes text through, escaping what could break a line or reach a terminal.
struct Escaping<'w, W: fmt::Write>(&'w mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(needs_escape) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..]
                .chars()
                .next()
                .expect("a char at a char boundary");
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` as the text log format writes it (for tests of the escaping).
#[cfg(test)]
fn escaped(text: &str) -> String {
    let mut out = String::new();
    Escaping(&mut out)
        .write_str(text)
        .expect("a String takes anything");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_line_separators_are_escaped() {
        assert_eq!(
            escaped("bob\n2026-12-01T22:10:00Z  INFO logged in user=admin"),
            "bob\\n2026-12-01T22:10:00Z  INFO logged in user=admin"
        );
        assert_eq!(
            escaped("a\r\tb\u{1b}[2J\u{7f}\u{85}"),
            "a\\r\\tb\\u{1b}[2J\\u{7f}\\u{85}"
        );
        assert_eq!(escaped("x\u{2028}y\u{2029}"), "x\\u{2028}y\\u{2029}");
        assert_eq!(escaped("plain é ✓"), "plain é ✓");
    }

    #[test]
    fn every_field_of_a_line_is_escaped() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("sink").extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(EscapedFields)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let forged = "bob\n2026-12-01T22:10:00Z  INFO wshost::auth: logged in user=admin";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", id = forged);
            let _in = span.enter();
            tracing::info!(user = %forged, path = ?forged, "refused {forged}");
        });
        let text = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8");
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        assert_eq!(text.matches("bob\\n2026").count(), 4, "{text}");
        assert!(text.contains("user=bob\\n2026"), "{text}");
    }
}
