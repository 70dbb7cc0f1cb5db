"""Words for the wide label-words family: hundreds of label pairs, with held-out words.

The 24 pairs of `synthetic.LABEL_WORD_PAIRS` teach a generator to carry the words a description
names through to the output, but every pair is seen in training, so they cannot say whether it
learned the skill or 24 lookups. Here ~300 words are split once by a fixed seed: the training
pairs are drawn among most of them (each word in two pairs, either side), and the validation
pairs use words that appear in no training pair. A gap on those is reading, not recall.

No word is an answer or label of the steering check (t2l_edge/evaluation/steer.py: colours,
capitals, countries, French words, antonyms, plurals, first names, sentiment words), nor one
of the 24 older pairs, so neither the check nor the older family overlaps this one
(tests/test_specificity_training.py checks both).
"""

from __future__ import annotations

import random
from pathlib import Path

_ANIMALS = ("horse rabbit goat camel zebra otter beaver badger falcon eagle owl parrot pigeon swan turtle lizard "
            "snake spider beetle ant bee wasp moth crab lobster shrimp squid whale shark seal walrus panda koala "
            "moose deer donkey mule llama hamster ferret")
_OBJECTS = ("hammer wrench drill saw ladder bucket shovel rake broom needle thread button zipper pencil eraser "
            "stapler ruler lamp candle mirror pillow blanket curtain carpet chair bench shelf drawer basket bottle "
            "jar kettle spoon fork plate bowl teapot oven fridge clock compass anchor rope chain magnet lens camera "
            "radio kite balloon drum flute trumpet harp cello")
_FOODS = ("rice pasta noodle soup salad pepper onion garlic ginger honey butter yogurt pancake waffle muffin cookie "
          "biscuit pretzel popcorn olive peach plum cherry grape melon mango kiwi papaya coconut almond walnut "
          "peanut bean pea corn oat wheat barley")
_PLACES = ("valley canyon desert forest meadow island harbor bridge tunnel castle tower temple garden farm market "
           "bakery library museum stadium airport cave glacier volcano lagoon cliff beach pond creek comet prairie "
           "orchard quarry")
_CODES = ("gamma delta epsilon theta lambda sigma omega kappa bravo charlie echo foxtrot juliet kilo mike oscar "
          "papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu K7 Z9 P4 M2 R2 J5 V8 B6 D3")
_MATERIALS = "iron tin zinc brass bronze marble granite clay sand wood stone paper cotton wool silk leather rubber plastic"
_PSEUDO = ("zorp blick wug dax fep glim snerd trop vash kiki bouba lorp mib nast plim sorn tiv yat zub grop flen "
           "drax morf pell skiv wex hib jom")

WORDS = tuple(" ".join((_ANIMALS, _OBJECTS, _FOODS, _PLACES, _CODES, _MATERIALS, _PSEUDO)).split())
VAL_WORDS = 40  # 20 held-out pairs; their words are in no training pair
PAIRS_PER_WORD = 2


def _split() -> tuple[list[str], list[str]]:
    words = list(WORDS)
    random.Random("label_vocab:split").shuffle(words)
    return words[VAL_WORDS:], words[:VAL_WORDS]


def train_pairs() -> list[tuple[str, str]]:
    """Each training word in PAIRS_PER_WORD pairs with different partners, in either role."""
    words, _ = _split()
    return _pairs(words, random.Random("label_vocab:train"))


def _pairs(words: list[str], rng: random.Random) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    seen: set[frozenset] = set()
    for _round in range(PAIRS_PER_WORD):
        order = words[:]
        rng.shuffle(order)
        for y, n in zip(order[::2], order[1::2]):
            if frozenset((y, n)) not in seen:
                seen.add(frozenset((y, n)))
                pairs.append((y, n))
    return pairs


def val_pairs() -> list[tuple[str, str]]:
    words = val_words()
    return list(zip(words[::2], words[1::2]))


def val_words() -> list[str]:
    """The held-out words: in no training pair of either family."""
    return _split()[1]


# The vocabulary-scale variant: ~1,500 common words (label_words.txt, written by
# scripts/make_label_wordlist.py), each in two training pairs. It validates on the same held-out
# pairs as the wide family, whose words the list leaves out, so the two compare directly: does
# reading unseen words grow with the number of words trained on, at equal exposure?
WORDLIST = Path(__file__).with_name("label_words.txt")


def vocab_words() -> list[str]:
    return WORDLIST.read_text().split()


def vocab_train_pairs() -> list[tuple[str, str]]:
    return _pairs(vocab_words(), random.Random("label_vocab:vocab"))


# The vocabulary split of scripts/word_probe.py and scripts/pretrain_reader.py: a fixed 300 of the
# 1,500 words are held out of fitting. The say_word_split family trains on the rest and validates
# on the first VAL_WORDS of them: real words the base spells as one token, like the ones it
# trains on, where the wide family's held-out words include codes and made-up words.
PROBE_HELDOUT_WORDS = 300


def probe_split() -> tuple[list[str], list[str], random.Random]:
    """(the held-out words, the fit words, the seeded generator the probe then draws pairs with)."""
    rng = random.Random("word_probe")
    shuffled = vocab_words()
    rng.shuffle(shuffled)
    return shuffled[:PROBE_HELDOUT_WORDS], shuffled[PROBE_HELDOUT_WORDS:], rng


def probe_fit_words() -> list[str]:
    return probe_split()[1]


def probe_val_words() -> list[str]:
    """The first VAL_WORDS held-out words: what the split families validate on."""
    return probe_split()[0][:VAL_WORDS]


def probe_train_pairs() -> list[tuple[str, str]]:
    """label_words_split's training pairs: each fit word in PAIRS_PER_WORD pairs, either role."""
    return _pairs(probe_fit_words(), random.Random("label_vocab:probe_split"))


def probe_val_pairs() -> list[tuple[str, str]]:
    words = probe_val_words()
    return list(zip(words[::2], words[1::2]))
