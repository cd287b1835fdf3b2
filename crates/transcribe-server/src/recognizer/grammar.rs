//! Turns a list of phrases into a JSGF grammar, so tests can expect exact words.

/// Normalises one phrase to the dictionary's form: lower case, words only.
pub fn normalise_phrase(phrase: &str) -> String {
    phrase
        .split_whitespace()
        .map(|word| {
            word.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A grammar that accepts exactly one of the given phrases per utterance.
///
/// The voice detector splits utterances at pauses, so one phrase per utterance
/// is enough. A `<phrase>+` grammar is worse: breath noise after a phrase gets
/// matched as the first word of another phrase, the search ends outside a final
/// state, and the utterance's final result comes back empty.
///
/// Returns `None` when no phrase has a word in it.
pub fn jsgf_from_phrases<'a>(phrases: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut alternatives: Vec<String> = phrases
        .into_iter()
        .map(normalise_phrase)
        .filter(|p| !p.is_empty())
        .collect();
    alternatives.sort();
    alternatives.dedup();
    if alternatives.is_empty() {
        return None;
    }
    Some(format!(
        "#JSGF V1.0;\ngrammar phrases;\npublic <utterance> = <phrase>;\n<phrase> = {};\n",
        alternatives.join(" | ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_become_a_sequence_grammar() {
        let g = jsgf_from_phrases(["Take two tablets, daily.", "", "  ", "hello doctor"]).unwrap();
        assert!(g.contains("<phrase> = hello doctor | take two tablets daily;"));
        assert!(g.contains("public <utterance> = <phrase>;"));
        assert_eq!(jsgf_from_phrases(["", "..."]), None);
    }

    #[test]
    fn keeps_apostrophes() {
        assert_eq!(normalise_phrase("Patient's  BP"), "patient's bp");
    }
}
