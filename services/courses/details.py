"""What a course page tells a buyer beyond its title and price (issue 17): topic, instructor,
"what you'll learn", requirements, FAQ and total length.

Staff type the lists as plain text in the course form (one bullet a line; FAQ entries
separated by a blank line, question on the first line); `parse_*` turns that text into the
stored lists, or field errors, and `*_text` turns the lists back into the form's text.
"""
from __future__ import annotations

# The catalog's topics: a fixed list, so the filter costs no query and staff cannot split a
# topic with a typo. Key (stored in courses.topic, used in ?topic=) → label.
TOPICS: dict[str, str] = {
    "programming": "Programming",
    "web": "Web development",
    "data": "Data",
    "languages": "Languages",
    "business": "Business",
    "design": "Design",
}

MAX_BULLETS = 12
MAX_BULLET_LENGTH = 200
MAX_FAQ = 10
MAX_QUESTION_LENGTH = 200
MAX_ANSWER_LENGTH = 1000
MAX_INSTRUCTOR_NAME = 120
MAX_INSTRUCTOR_BIO = 600


def topic_label(key: str | None) -> str:
    return TOPICS.get(key or "", "")


def parse_bullets(text: str | None, label: str) -> tuple[list[str], str | None]:
    """One bullet a line (a leading "-", "*" or "•" is dropped); blank lines are ignored.

    Returns the bullets and an error message (None when the text is fine)."""
    bullets = [line.strip().lstrip("-*•").strip() for line in (text or "").splitlines()]
    bullets = [bullet for bullet in bullets if bullet]
    if len(bullets) > MAX_BULLETS:
        return bullets, f"At most {MAX_BULLETS} {label}, one a line."
    if any(len(bullet) > MAX_BULLET_LENGTH for bullet in bullets):
        return bullets, f"Keep each line under {MAX_BULLET_LENGTH} characters."
    return bullets, None


def bullets_text(bullets: list[str] | None) -> str:
    return "\n".join(bullets or [])


def parse_faq(text: str | None) -> tuple[list[dict[str, str]], str | None]:
    """Entries separated by a blank line: the first line is the question, the rest its answer."""
    entries, error = [], None
    blocks = [block for block in _blocks(text or "") if block]
    for block in blocks:
        question, answer = block[0], " ".join(block[1:])
        entries.append({"question": question, "answer": answer})
        if not answer:
            error = error or f"“{question[:60]}” needs an answer on the line below it."
        elif len(question) > MAX_QUESTION_LENGTH or len(answer) > MAX_ANSWER_LENGTH:
            error = error or (f"Keep questions under {MAX_QUESTION_LENGTH} characters and answers "
                              f"under {MAX_ANSWER_LENGTH}.")
    if len(entries) > MAX_FAQ:
        error = f"At most {MAX_FAQ} questions."
    return entries, error


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    return blocks


def faq_text(entries: list[dict[str, str]] | None) -> str:
    return "\n\n".join(f"{entry['question']}\n{entry['answer']}" for entry in entries or [])


def total_minutes(lectures) -> int:
    return sum(lecture.duration_minutes or 0 for lecture in lectures)


def format_length(minutes: int | None) -> str:
    """75 → "1 h 15 min"; 45 → "45 min"; 120 → "2 h"."""
    minutes = max(int(minutes or 0), 0)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
