//! What `start(file=..., segment=...)` names, turned into the [`Output`] a recorder opens: the
//! one place that dispatches a destination to its target. A binding maps a string to [`open`]
//! and an object of its own language to [`writer`], and nothing else.

use crate::core::sink::queued::{ByteWriter, Queued};
use crate::core::sink::{Destination, Output, SegmentPlan, StorageOptions, Target, Template};
use crate::core::Result;

/// A path or an object store URL, or with `segment_ns` (media per file) a name template of a
/// series of them. Parsed and checked now, so that a wrong one raises at `start()`; opened
/// once the recorder has accepted the call (a refused `start` truncates no file). The uploads
/// of all segments share one budget (`options`).
pub fn open(destination: &str, options: StorageOptions, segment_ns: Option<i64>) -> Result<Output> {
    let Some(every_ns) = segment_ns else {
        let destination = Destination::parse(destination, &options)?;
        return Ok(Output::Target(Box::new(move || destination.open(&options))));
    };
    let template = Template::parse(destination)?;
    Destination::parse(&template.format(0, 0), &options)?;
    let open = Box::new(move |name: &str| Destination::parse(name, &options)?.open(&options));
    Ok(Output::Segments(SegmentPlan::new(every_ns, template, open)))
}

/// An embedder's writer (a Python file object), written on a thread of its own. `options`
/// are checked first (a writer takes `stall_timeout` only); the function returned wraps the
/// writer, made after that check.
pub fn writer(options: &StorageOptions) -> Result<impl FnOnce(Box<dyn ByteWriter>) -> Output> {
    options.stall_timeout_only("a file object")?;
    let stall = options.stall_timeout;
    Ok(move |writer: Box<dyn ByteWriter>| {
        Output::Target(Box::new(move || {
            Ok(Box::new(Queued::spawn(writer, stall)?) as Box<dyn Target>)
        }))
    })
}
