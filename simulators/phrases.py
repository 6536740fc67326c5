"""What simulated residents say: neutral everyday talk, low mood, help requests, questions.

The pools are kept apart on purpose: a low-mood phrase appears only inside a low-mood
scenario's window, so text models can be scored against the labels. Syllable counts (one per
Han character; vowel groups in English) give utterance durations that match the words.
"""

from __future__ import annotations

import re

NEUTRAL_ZH: tuple[str, ...] = (
    "早上好",
    "今天天气不错",
    "早饭吃的是粥和包子",
    "我想喝点热水",
    "电视上在放什么节目",
    "下午我想去花园走走",
    "这个汤挺好喝的",
    "帮我把窗户开一点",
    "我的眼镜放哪儿了",
    "今天是星期几来着",
    "护士刚才来量过血压了",
    "外面好像要下雨了",
    "我孙子下个月考试",
    "午饭几点开始",
    "这件毛衣挺暖和的",
    "帮我把灯关了吧",
    "我想听听戏曲",
    "隔壁的老王今天精神不错",
    "刚才做了一会儿操",
    "我有点渴了",
    "今天的菜有点咸",
    "晚上想早点睡",
    "花园里的花开了",
    "我女儿昨天打电话来了",
    "药我已经吃过了",
    "帮我调一下电视的声音",
    "今天阳光真好",
    "我想给儿子打个电话",
    "下午有书法课吗",
    "这个椅子坐着挺舒服",
    "我想洗个头",
    "今天的水果是苹果",
    "天冷了要多穿点",
    "我喜欢听收音机",
    "刚才睡了个午觉",
    "明天要去医院复查",
    "谢谢你帮我",
    "我们一起下象棋吧",
    "这个月过得真快",
    "晚饭吃饺子吗",
    "我想看看相册",
    "拖鞋有点大了",
)

NEUTRAL_EN: tuple[str, ...] = (
    "Good morning",
    "It's a lovely day today",
    "I had porridge for breakfast",
    "Could I have a cup of tea please",
    "What's on the telly tonight",
    "I'd like to sit in the garden this afternoon",
    "This soup is rather nice",
    "Can you open the window a little",
    "Have you seen my glasses",
    "The nurse took my blood pressure earlier",
    "Looks like it might rain later",
    "My grandson has exams next month",
    "What time is lunch",
    "This cardigan is nice and warm",
    "Could you turn the light off",
    "I'd like to listen to some music",
    "Margaret seems cheerful today",
    "I did a bit of exercise this morning",
    "I'm a little thirsty",
    "The dinner was a bit salty",
    "I think I'll go to bed early tonight",
    "The roses in the garden are out",
    "My daughter rang yesterday",
    "I've already taken my tablets",
    "Can you turn the radio down a bit",
    "The sun is lovely this morning",
    "I'd like to phone my son",
    "Is there a painting class this afternoon",
    "This chair is very comfortable",
    "I'd like my hair washed",
    "We had apples with lunch",
    "It's getting colder, I need my coat",
    "I like the quiz shows",
    "I had a nice little nap",
    "I've got a hospital appointment tomorrow",
    "Thank you, that's very kind",
    "Shall we play a game of cards",
    "This month has gone so quickly",
    "Is it fish for dinner on Friday",
    "I'd like to look at my photo album",
    "These slippers are a bit loose",
    "The birds are singing outside",
)

LOW_MOOD_ZH: tuple[str, ...] = (
    "今天有点闷",
    "没人来看我",
    "心里不太舒服",
    "活着也没什么意思",
    "我老是睡不好",
    "孩子们都忙，顾不上我",
    "一个人待着好孤单",
    "什么都不想做",
    "我是不是给大家添麻烦了",
    "最近总是想哭",
    "吃什么都没味道",
    "好久没人跟我说话了",
)

LOW_MOOD_EN: tuple[str, ...] = (
    "I feel a bit down",
    "Nobody visits me anymore",
    "I don't see the point of anything",
    "I'm so lonely in here",
    "I can't be bothered with anything",
    "I haven't slept properly for days",
    "I'm just a burden to everyone",
    "I keep feeling like crying",
    "Nothing tastes of anything",
    "Nobody has talked to me all day",
    "My family are too busy for me",
    "I feel so tired of it all",
)

HELP_ZH: tuple[str, ...] = ("救命", "我摔倒了", "快来人啊", "帮帮我，我起不来了")
HELP_EN: tuple[str, ...] = ("Help me", "I've fallen", "Somebody help", "Help, I can't get up")

QUESTIONS_ZH: tuple[str, ...] = (
    "今天是几号",
    "我女儿什么时候来",
    "我要回家，车来了吗",
    "现在几点了",
    "我的钱包在哪儿",
    "吃过饭了吗",
)
QUESTIONS_EN: tuple[str, ...] = (
    "What day is it today",
    "When is my daughter coming",
    "Is the car here to take me home",
    "What time is it",
    "Where is my handbag",
    "Have we had lunch yet",
)

#: Every pool by name; scenario specs refer to pools by these names.
POOLS: dict[str, tuple[str, ...]] = {
    "neutral_zh": NEUTRAL_ZH,
    "neutral_en": NEUTRAL_EN,
    "low_mood_zh": LOW_MOOD_ZH,
    "low_mood_en": LOW_MOOD_EN,
    "help_zh": HELP_ZH,
    "help_en": HELP_EN,
    "question_zh": QUESTIONS_ZH,
    "question_en": QUESTIONS_EN,
}

_HAN = re.compile(r"[\u4e00-\u9fff]")
_VOWELS = re.compile(r"[aeiouy]+")


def syllables(text: str) -> int:
    """Rough syllable count: Han characters, else vowel groups per word (at least one)."""
    han = len(_HAN.findall(text))
    if han:
        return han
    words = re.findall(r"[a-z']+", text.lower())
    return sum(max(1, len(_VOWELS.findall(w))) for w in words) or 1


#: Syllable counts per pool, aligned with :data:`POOLS`.
SYLLABLES: dict[str, tuple[int, ...]] = {
    name: tuple(syllables(t) for t in pool) for name, pool in POOLS.items()
}


def pool(kind: str, language: str) -> str:
    """The name of the ``kind`` pool (neutral, low_mood, help, question) in ``language``."""
    name = f"{kind}_{language}"
    if name not in POOLS:
        raise KeyError(f"no phrase pool {name!r}")
    return name
