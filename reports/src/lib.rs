//! dsim's report printers. Every printer takes run records (or trace events) and returns
//! the text to write; the binary does the writing. Output depends only on the records, in
//! the order given, so a campaign prints the same bytes whatever its thread count.
#![forbid(unsafe_code)]

pub mod csv;
pub mod debug_json;
pub mod html;
pub mod json;
pub mod junit;
pub mod latency;
pub mod perfetto;
pub mod summary;
pub mod svg;
pub mod timeline;
pub mod trace;
