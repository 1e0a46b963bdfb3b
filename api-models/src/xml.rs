//! Query-protocol response encoding: `<{Op}Response xmlns=…><{Op}Result>…</{Op}Result>
//! <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></{Op}Response>`, list items as
//! `<member>`, an empty list as `<X/>`, timestamps as `2016-03-25T21:29:48.850Z`.

use std::collections::BTreeMap;

/// Appends XML to a string; values are escaped with quick-xml.
#[derive(Default)]
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }
    /// The written text.
    pub fn finish(self) -> String {
        self.buf
    }
    /// `<tag>`.
    pub fn open(&mut self, tag: &str) {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
    }
    /// `</tag>`.
    pub fn close(&mut self, tag: &str) {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
    }
    /// `<tag/>`.
    pub fn empty(&mut self, tag: &str) {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push_str("/>");
    }
    /// `<tag>text</tag>`, escaped.
    pub fn text(&mut self, tag: &str, text: &str) {
        self.open(tag);
        self.buf.push_str(&quick_xml::escape::partial_escape(text));
        self.close(tag);
    }
    /// One member of a shape.
    pub fn field<V: XmlValue + ?Sized>(&mut self, tag: &str, v: &V) {
        v.write_value(self, tag);
    }
}

/// A structure's members, in model order. Generated for every shape.
pub trait ToXml {
    /// Writes the members that are set.
    fn write_fields(&self, w: &mut XmlWriter);
}

/// A value written under an element name.
pub trait XmlValue {
    /// Writes `<tag>…</tag>`.
    fn write_value(&self, w: &mut XmlWriter, tag: &str);
}

impl XmlValue for String {
    fn write_value(&self, w: &mut XmlWriter, tag: &str) {
        w.text(tag, self);
    }
}
impl XmlValue for str {
    fn write_value(&self, w: &mut XmlWriter, tag: &str) {
        w.text(tag, self);
    }
}
macro_rules! display_value {
    ($($t:ty),*) => { $(impl XmlValue for $t {
        fn write_value(&self, w: &mut XmlWriter, tag: &str) { w.text(tag, &self.to_string()); }
    })* };
}
display_value!(i32, i64, f64, bool);

impl XmlValue for crate::Timestamp {
    fn write_value(&self, w: &mut XmlWriter, tag: &str) {
        w.text(tag, &self.to_iso8601());
    }
}

impl<T: XmlValue> XmlValue for Vec<T> {
    fn write_value(&self, w: &mut XmlWriter, tag: &str) {
        if self.is_empty() {
            return w.empty(tag);
        }
        w.open(tag);
        for v in self {
            v.write_value(w, "member");
        }
        w.close(tag);
    }
}

impl XmlValue for BTreeMap<String, String> {
    fn write_value(&self, w: &mut XmlWriter, tag: &str) {
        if self.is_empty() {
            return w.empty(tag);
        }
        w.open(tag);
        for (k, v) in self {
            w.open("entry");
            w.text("key", k);
            w.text("value", v);
            w.close("entry");
        }
        w.close(tag);
    }
}

/// Structures write their members inside `<tag>`.
impl<T: ToXml> XmlValue for T {
    fn write_value(&self, w: &mut XmlWriter, tag: &str) {
        w.open(tag);
        self.write_fields(w);
        w.close(tag);
    }
}

/// The success document for `op`; the `<{op}Result>` element is present even when empty,
/// since botocore and aws-sdk-go-v2 both look it up by name.
pub fn envelope<T: ToXml>(op: &str, out: &T, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    w.buf.push_str(&format!(
        "<{op}Response xmlns=\"{}\">",
        crate::XML_NAMESPACE
    ));
    w.open(&format!("{op}Result"));
    out.write_fields(&mut w);
    w.close(&format!("{op}Result"));
    w.open("ResponseMetadata");
    w.text("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&format!("{op}Response"));
    w.finish()
}

/// The error document: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.
pub fn error_document(sender_fault: bool, code: &str, message: &str, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    w.buf.push_str(&format!(
        "<ErrorResponse xmlns=\"{}\">",
        crate::XML_NAMESPACE
    ));
    w.open("Error");
    w.text("Type", if sender_fault { "Sender" } else { "Receiver" });
    w.text("Code", code);
    w.text("Message", message);
    w.close("Error");
    w.text("RequestId", request_id);
    w.close("ErrorResponse");
    w.finish()
}
