//! Real message text in many scripts: the shared dialog corpus (`shared/data/dialogs.jsonl`,
//! chit-chat from the chatterbot corpus in 22 languages), read once per test process.
//!
//! Cases take turns from it wherever the content of a message matters (search, export, the
//! transfer context, sequence numbers under load), so stores meet real Chinese, Bengali or
//! Cyrillic text with its real lengths and punctuation, not ASCII stand-ins. The file lives
//! beside the workspace; `SHIFTDESK_DIALOGS` names another copy; without either, a sample of
//! it kept in this crate is used.

use std::path::PathBuf;
use std::sync::OnceLock;

use shiftdesk_core::text::MessageBody;

/// The languages cases draw from; lines in other languages are skipped when reading.
pub const LANGUAGES: [&str; 12] = [
    "chinese",
    "traditionalchinese",
    "japanese",
    "korean",
    "hindi",
    "bengali",
    "marathi",
    "russian",
    "ukrainian",
    "turkish",
    "english",
    "spanish",
];

/// One dialog: its language, its topic, and the turns that make valid message bodies.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// The corpus's name for the language, such as `chinese`.
    pub lang: String,
    /// The corpus's topic, such as `greetings`.
    pub topic: String,
    /// The turns, in order, leaving out any that is not a valid body (a lone space, say).
    pub turns: Vec<MessageBody>,
}

/// `SHIFTDESK_DIALOGS` if set; else the shared corpus beside the workspace; else the sample
/// of it kept in this crate (`tests/data/dialogs.jsonl`), so a clone anywhere still runs.
fn corpus_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SHIFTDESK_DIALOGS") {
        return PathBuf::from(path);
    }
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = crate_dir.join("../../shared/data/dialogs.jsonl");
    if shared.exists() {
        shared
    } else {
        crate_dir.join("data/dialogs.jsonl")
    }
}

fn read_corpus() -> Vec<Dialog> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "the dialog corpus {} cannot be read ({error}); set SHIFTDESK_DIALOGS to a copy",
            path.display()
        )
    });
    let mut dialogs = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
        let lang = field("lang");
        if !LANGUAGES.contains(&lang.as_str()) {
            continue;
        }
        let turns = value["turns"].as_array().cloned().unwrap_or_default();
        let turns: Vec<MessageBody> = turns
            .iter()
            .filter_map(|turn| MessageBody::parse(turn.as_str()?).ok())
            .collect();
        dialogs.push(Dialog {
            lang,
            topic: field("topic"),
            turns,
        });
    }
    dialogs
}

/// Every dialog in [`LANGUAGES`], in file order.
pub fn all() -> &'static [Dialog] {
    static CORPUS: OnceLock<Vec<Dialog>> = OnceLock::new();
    CORPUS.get_or_init(read_corpus)
}

/// The first `count` turns in `lang`, across dialogs, in file order; panics if there are
/// fewer.
pub fn turns(lang: &str, count: usize) -> Vec<MessageBody> {
    let found: Vec<MessageBody> = all()
        .iter()
        .filter(|dialog| dialog.lang == lang)
        .flat_map(|dialog| dialog.turns.iter().cloned())
        .take(count)
        .collect();
    assert_eq!(found.len(), count, "the corpus has {count} turns in {lang}");
    found
}

/// `count` turns taken from each language of [`LANGUAGES`] in turn, so neighbours differ in
/// script.
pub fn mixed(count: usize) -> Vec<MessageBody> {
    let per_language = count.div_ceil(LANGUAGES.len());
    let columns: Vec<Vec<MessageBody>> = LANGUAGES
        .iter()
        .map(|lang| turns(lang, per_language))
        .collect();
    (0..per_language)
        .flat_map(|row| columns.iter().map(move |column| column[row].clone()))
        .take(count)
        .collect()
}

/// The first dialog in `lang` about `topic` with at least `turns` turns; panics if none.
pub fn dialog(lang: &str, topic: &str, turns: usize) -> &'static Dialog {
    all()
        .iter()
        .find(|dialog| dialog.lang == lang && dialog.topic == topic && dialog.turns.len() >= turns)
        .unwrap_or_else(|| panic!("the corpus has a {lang} dialog about {topic} of {turns} turns"))
}
