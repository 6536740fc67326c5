"""Is what the resident said "I did it"? The answer to a spoken care-plan reminder.

After the device said "It's time to take your medicine", the resident answers in a few
words: "吃過藥了", "吃过药了", "我吃了", "做完了", "I took it", "done". Both the scorer (which
counts the occurrence as fulfilled, so no ``missed_care_plan`` need is raised) and the
alert service (which closes its reminder as ``confirmed``) ask :func:`is_confirmation`, so
they read the same words the same way; it lives in the kernel because both need it.

The text is normalised as :mod:`alerts.answers` does (NFKC, case, punctuation, fillers and
final particles peeled off) and looked up *whole* in :data:`CONFIRMATIONS`: "還沒吃藥" or
"I haven't taken it" is no confirmation, and neither is a sentence that merely contains
"done". :func:`confirmed_event` says which event the words name, if any ("吃過藥了" names
``medication_taken``), so "the medicine" does not close a check-up.
"""

from __future__ import annotations

import unicodedata

#: Whole answers (after normalisation) -> the event they name (None: whatever was reminded).
CONFIRMATIONS: dict[str, str | None] = {
    # medicine, Traditional and Simplified
    **dict.fromkeys(
        ["吃過藥", "吃过药", "吃藥了", "吃药了", "藥吃了", "药吃了", "藥吃過了", "药吃过了",
         "我吃過藥", "我吃过药", "已經吃藥", "已经吃药", "已經吃過藥", "已经吃过药",
         "i took it", "i took my medicine", "i took my pills", "i've taken it",
         "i have taken it", "took it", "medicine taken", "i took my medication"],
        "medication_taken"),
    # check-ups
    **dict.fromkeys(
        ["量過了", "量过了", "量好了", "檢查過了", "检查过了", "檢查完了", "检查完了",
         "看過醫生", "看过医生", "i did the check up", "check up done", "checked"],
        "checkup_done"),
    # calls
    **dict.fromkeys(["打過電話", "打过电话", "i called", "i made the call"], "video_call"),
    # whatever was reminded
    **dict.fromkeys(
        ["吃過", "吃过", "我吃了", "吃了", "做完了", "做好了", "做過了", "做过了", "弄好了",
         "已經做了", "已经做了", "完成了", "完成", "i did it", "i've done it",
         "i have done it", "did it", "done", "all done", "finished", "completed"],
        None),
}  # fmt: skip

_LEADING = ("嗯", "呃", "好", "對", "对", "是的", "是", "我已經", "我已经", "yes ", "yeah ",
            "ok ", "okay ", "yep ", "sure ", "um ", "well ")  # fmt: skip
_TRAILING = ("啊", "呀", "喔", "哦", "啦", "了", "的", "吧", "呢", "嘛", " already",
             " thanks", " thank you", " now")  # fmt: skip


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    s = "".join(" " if unicodedata.category(c)[0] in "PSZ" and c != "'" else c for c in s)
    return " ".join(s.split())


def _key(text: str) -> str | None:
    """The table key the words reduce to, or None."""
    s = _normalise(text)
    seen = {s}
    candidates = [s]
    while candidates:  # peel fillers and particles off both ends, trying each stage
        s = candidates.pop()
        if s in CONFIRMATIONS:
            return s
        for lead in _LEADING:
            if s.startswith(lead) and len(s) > len(lead):
                nxt = s[len(lead) :].strip()
                if nxt not in seen:
                    seen.add(nxt)
                    candidates.append(nxt)
        for tail in _TRAILING:
            if s.endswith(tail) and len(s) > len(tail):
                nxt = s[: -len(tail)].strip()
                if nxt not in seen:
                    seen.add(nxt)
                    candidates.append(nxt)
    return None


def is_confirmation(text: str) -> bool:
    """Whether ``text`` as a whole says "I did it"."""
    return _key(text) is not None


def confirmed_event(text: str) -> str | None:
    """The event type the confirmation names ("吃過藥了" -> ``medication_taken``), or None
    when it names none ("做完了", "done") or is no confirmation."""
    key = _key(text)
    return None if key is None else CONFIRMATIONS[key]
