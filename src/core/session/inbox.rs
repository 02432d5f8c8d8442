//! A session's queues: the sending side shared by tracks and the recorder, and the receiving
//! side that hands the pipeline media and commands in the order the caller issued them.
//!
//! A source waits for room before it sends audio ([`SessionInput::wait_room`]: one that
//! outruns the encoder is slowed down, nothing is lost), having first kept its item's place
//! ([`SessionInput::reserve`]), so a `stop()` issued while it waits still takes the item;
//! live video never waits: a frame that finds its queue full is dropped and counted. Sends
//! themselves never block, so a source holds no lock while it waits, end markers always go
//! through, and a thread that must not wait (see `wait.rs`) may overfill a queue. Commands go
//! through an unbounded queue, so recorder methods never block. Each command carries how many
//! items each media queue had been given when it was issued; the inbox delivers it after
//! exactly those items and before any later one, so `write(); pause(); write()` pauses
//! between the two writes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{never, select, Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use crate::core::media::TrackKind;
use crate::core::media::{Media, VideoFrame};
use crate::core::stats::RecorderStats;
use crate::core::wait;
use crate::core::Error;

/// Audio blocks a session queues before its sources wait (one `write()` or one 10 ms block of a
/// live source each).
pub(crate) const AUDIO_QUEUE: usize = 64;
/// Frames a session queues before it drops new ones.
pub(crate) const VIDEO_QUEUE: usize = 8;
const CAPACITY: [usize; 2] = [AUDIO_QUEUE, VIDEO_QUEUE];

/// Items in each media queue; senders wait here for room, the pipeline frees it.
#[derive(Default)]
struct Room {
    queued: Mutex<[usize; 2]>,
    /// The pipeline is gone: nothing will free room any more.
    closed: AtomicBool,
    freed: Condvar,
}

impl Room {
    fn take_one(&self, l: usize) {
        let mut q = self.queued.lock();
        q[l] = q[l].saturating_sub(1);
        self.freed.notify_all();
    }
}

pub(crate) enum Command {
    Pause,
    Resume,
    RequestData,
    Stop,
    Abort(Error),
    /// A test hook: panics on the session thread, to check that a panic ends the recording
    /// the spec's way (`Recorder::inject_panic`).
    Panic(String),
}

pub(crate) struct Control {
    /// Items given to the (audio, video) queues before the command was issued.
    pub seq: [u64; 2],
    pub cmd: Command,
}

type Item = (usize, Media);

/// The sending side of a session's media queues, shared by the tracks attached to it.
#[derive(Clone)]
pub(crate) struct SessionInput {
    queues: [Sender<Item>; 2],
    sent: Arc<[AtomicU64; 2]>,
    stats: Arc<RecorderStats>,
    room: Arc<Room>,
}

fn lane(kind: TrackKind) -> usize {
    match kind {
        TrackKind::Audio => 0,
        TrackKind::Video => 1,
    }
}

/// Creates a session's queues.
pub(crate) fn session_queues(stats: Arc<RecorderStats>) -> (SessionInput, Sender<Control>, Inbox) {
    let (audio_tx, audio_rx) = crossbeam_channel::unbounded();
    let (video_tx, video_rx) = crossbeam_channel::unbounded();
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let room = Arc::new(Room::default());
    let input = SessionInput {
        queues: [audio_tx, video_tx],
        sent: Arc::default(),
        stats,
        room: room.clone(),
    };
    let inbox = Inbox {
        room,
        queues: [audio_rx, video_rx],
        control: control_rx,
        received: [0, 0],
        pending: VecDeque::new(),
        held: None,
    };
    (input, control_tx, inbox)
}

impl SessionInput {
    /// How many items each queue has been given: what a command must come after.
    pub(crate) fn sequence(&self) -> [u64; 2] {
        [self.sent[0].load(Ordering::SeqCst), self.sent[1].load(Ordering::SeqCst)]
    }

    /// Waits until the `kind` queue has room (at once on a thread that must never wait, or
    /// when the session is gone), or until `ended()` (the track ended meanwhile: its end marker
    /// goes through anyway). False if the wait was interrupted (see `wait.rs`).
    pub(crate) fn wait_room(&self, kind: TrackKind, ended: &dyn Fn() -> bool) -> bool {
        let l = lane(kind);
        if wait::never_waits() {
            return true;
        }
        let mut q = self.room.queued.lock();
        while q[l] >= CAPACITY[l] && !self.room.closed.load(Ordering::Acquire) {
            if self.room.freed.wait_for(&mut q, wait::CHECK_EVERY).timed_out() {
                drop(q);
                if ended() {
                    return true;
                }
                if wait::should_give_up() {
                    return false;
                }
                q = self.room.queued.lock();
            }
        }
        true
    }

    /// Queues audio or an end marker; never waits (see [`Self::wait_room`]). Counted before
    /// the send, so a command issued after this returns is ordered after it even while
    /// another thread's send is still in flight.
    pub(crate) fn send_media(&self, kind: TrackKind, track: usize, media: Media) {
        self.reserve(kind);
        self.send_reserved(kind, track, media);
    }

    /// Counts an item as given before it is sent: a command issued from now on (a `stop()`
    /// while the writer waits for room) comes after it, and the inbox waits for it. Every
    /// reservation is filled by exactly one [`Self::send_reserved`] (`Media::Skip` if the
    /// write gives up).
    pub(crate) fn reserve(&self, kind: TrackKind) {
        self.sent[lane(kind)].fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn send_reserved(&self, kind: TrackKind, track: usize, media: Media) {
        let l = lane(kind);
        self.room.queued.lock()[l] += 1;
        let _ = self.queues[l].send((track, media));
    }

    /// Stand-ins of a disabled track are counted by the session, when it records one.
    fn count_received(&self, frame: &VideoFrame) {
        if !frame.filler {
            self.stats.video_frames_received.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues a frame; never waits (see [`Self::wait_room`]).
    pub(crate) fn send_video(&self, track: usize, frame: Arc<VideoFrame>) {
        self.count_received(&frame);
        self.send_media(TrackKind::Video, track, Media::Video(frame));
    }

    /// Queues a frame in the place [`Self::reserve`] kept for it.
    pub(crate) fn send_reserved_video(&self, track: usize, frame: Arc<VideoFrame>) {
        self.count_received(&frame);
        self.send_reserved(TrackKind::Video, track, Media::Video(frame));
    }

    /// Queues a frame unless the video queue is full, in which case it is dropped and counted.
    /// (Counted after the check: a dropped frame must not be waited for.)
    pub(crate) fn offer_video(&self, track: usize, frame: Arc<VideoFrame>) {
        self.count_received(&frame);
        {
            let mut q = self.room.queued.lock();
            if q[1] >= VIDEO_QUEUE {
                self.stats.video_frames_dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            q[1] += 1;
            self.sent[1].fetch_add(1, Ordering::SeqCst);
        }
        let _ = self.queues[1].send((track, Media::Video(frame)));
    }
}

pub(crate) enum Next {
    Media(usize, Media),
    Command(Command),
    /// Nothing can reach the session any more.
    Closed,
}

/// The receiving side.
pub(crate) struct Inbox {
    room: Arc<Room>,
    queues: [Receiver<Item>; 2],
    control: Receiver<Control>,
    received: [u64; 2],
    pending: VecDeque<Control>,
    /// An item that arrived while a command issued before it was still waiting: (lane, its
    /// number in its queue, the item).
    held: Option<(usize, u64, Item)>,
}

impl Inbox {
    pub(crate) fn next(&mut self) -> Next {
        loop {
            if let Some(c) = self.pending.front() {
                let after_held = self.held.as_ref().is_some_and(|(l, n, _)| c.seq[*l] >= *n);
                if !after_held {
                    if self.received[0] >= c.seq[0] && self.received[1] >= c.seq[1] {
                        let c = self.pending.pop_front().expect("front exists");
                        return Next::Command(c.cmd);
                    }
                    // Items issued before the command are still queued: they come first.
                    let l = if self.received[0] < c.seq[0] { 0 } else { 1 };
                    match self.queues[l].recv() {
                        Ok((track, media)) => {
                            self.received[l] += 1;
                            self.room.take_one(l);
                            return Next::Media(track, media);
                        }
                        Err(_) => {
                            self.received[l] = c.seq[l];
                            continue;
                        }
                    }
                }
            }
            if let Some((_, _, (track, media))) = self.held.take() {
                return Next::Media(track, media);
            }
            let (audio, video) = (self.queues[0].clone(), self.queues[1].clone());
            select! {
                recv(audio) -> m => self.take(0, m),
                recv(video) -> m => self.take(1, m),
                recv(self.control) -> c => match c {
                    Ok(c) => self.pending.push_back(c),
                    Err(_) => return Next::Closed,
                },
            }
        }
    }

    fn take(&mut self, l: usize, m: Result<Item, crossbeam_channel::RecvError>) {
        let Ok(item) = m else {
            // Every sender is gone: stop selecting on this queue.
            self.queues[l] = never();
            return;
        };
        self.received[l] += 1;
        self.room.take_one(l);
        // A command issued before this item was queued is in the command queue by now.
        while let Ok(c) = self.control.try_recv() {
            self.pending.push_back(c);
        }
        self.held = Some((l, self.received[l], item));
    }
}

impl Drop for Inbox {
    /// Wakes every source waiting for room: nothing will take its media any more.
    fn drop(&mut self) {
        let _q = self.room.queued.lock();
        self.room.closed.store(true, Ordering::Release);
        self.room.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::AudioBlock;

    fn audio(n: usize) -> Media {
        Media::Audio(AudioBlock {
            sample_rate: 48_000,
            channels: 1,
            time: n as i64,
            samples: vec![],
        })
    }

    fn frame(n: i64) -> Arc<VideoFrame> {
        Arc::new(VideoFrame::black(2, 2, n))
    }

    /// What the inbox hands out, as short labels: `a<time>`, `v<time>`, `end`, or the command.
    fn label(next: Next) -> String {
        match next {
            Next::Media(_, Media::Audio(b)) => format!("a{}", b.time),
            Next::Media(_, Media::Video(f)) => format!("v{}", f.time),
            Next::Media(_, Media::End) => "end".into(),
            Next::Media(_, Media::Skip) => "skip".into(),
            Next::Command(Command::Pause) => "pause".into(),
            Next::Command(Command::Resume) => "resume".into(),
            Next::Command(Command::RequestData) => "request".into(),
            Next::Command(Command::Stop) => "stop".into(),
            Next::Command(Command::Abort(_)) => "abort".into(),
            Next::Command(Command::Panic(_)) => "panic".into(),
            Next::Closed => "closed".into(),
        }
    }

    fn command(input: &SessionInput, control: &Sender<Control>, cmd: Command) {
        control.send(Control { seq: input.sequence(), cmd }).unwrap();
    }

    #[test]
    fn a_command_comes_exactly_between_the_media_written_before_and_after_it() {
        let (input, control, mut inbox) = session_queues(Arc::default());
        input.send_media(TrackKind::Audio, 0, audio(1));
        input.send_video(1, frame(1));
        command(&input, &control, Command::Pause);
        input.send_media(TrackKind::Audio, 0, audio(2));
        command(&input, &control, Command::Resume);
        input.send_video(1, frame(2));
        command(&input, &control, Command::Stop);
        let got: Vec<String> = (0..7).map(|_| label(inbox.next())).collect();
        let pause = got.iter().position(|l| l == "pause").unwrap();
        let resume = got.iter().position(|l| l == "resume").unwrap();
        let at = |l: &str| got.iter().position(|g| g == l).unwrap();
        assert!(at("a1") < pause && at("v1") < pause, "{got:?}");
        assert!(pause < at("a2") && at("a2") < resume && resume < at("v2"), "{got:?}");
        assert_eq!(got.last().unwrap(), "stop", "{got:?}");
    }

    #[test]
    fn a_command_that_overtakes_its_media_waits_for_it() {
        let (input, control, mut inbox) = session_queues(Arc::default());
        // Counted before it is queued: as a writer thread that has counted and not sent yet.
        control.send(Control { seq: [2, 1], cmd: Command::RequestData }).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            input.send_media(TrackKind::Audio, 0, audio(1));
            input.send_media(TrackKind::Audio, 0, audio(2));
            input.send_video(1, frame(1));
            input
        });
        let got: Vec<String> = (0..4).map(|_| label(inbox.next())).collect();
        assert_eq!(got[3], "request", "{got:?}");
        assert_eq!(got.iter().filter(|l| l.starts_with('a')).count(), 2);
        drop(writer.join().unwrap());
        drop(control);
        assert_eq!(label(inbox.next()), "closed");
    }

    #[test]
    fn a_full_video_queue_drops_new_frames_and_counts_them() {
        let stats: Arc<RecorderStats> = Arc::default();
        let (input, _control, mut inbox) = session_queues(stats.clone());
        for n in 0..(VIDEO_QUEUE as i64 + 3) {
            input.offer_video(1, frame(n));
        }
        assert_eq!(stats.video_frames_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(stats.video_frames_received.load(Ordering::Relaxed), VIDEO_QUEUE as u64 + 3);
        let got: Vec<String> = (0..VIDEO_QUEUE).map(|_| label(inbox.next())).collect();
        let expected: Vec<String> = (0..VIDEO_QUEUE).map(|n| format!("v{n}")).collect();
        assert_eq!(got, expected);
    }
}
