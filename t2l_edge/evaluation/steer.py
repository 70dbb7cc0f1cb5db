"""The steering check's tasks and scorer: free prompts, as users type them.

Each task's prompt carries only the input ("France", "12 + 7", a review); what to do with it is
said by the description alone. Items are written here in code. The families are disjoint
from the code-built tasks the training side uses (answer-format renaming for multiple choice,
NLI label renaming on RTE/MRPC inputs, sentence word operations such as copy / first /
last / second / first three words, and "is this question about TOPIC? yes/no" on MMLU): no
task below shares an input set with those. One output rule is shared: `label_words` and
`mrpc_words` answer RTE and MRPC pairs with word pairs their description names, as `sentiment`
below does with its own two words; none of their words (no sentiment, colour or yes/no words)
is a label or answer here.

Scoring normalises case (unless the task is about case), punctuation and spaces, then:
  exact    the whole answer equals the gold (or an accepted alias)
  lenient  the gold appears as whole words in the answer's first line, and for label tasks no
           other label does ("The capital is Paris." counts; "positive or negative" does not)
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field


@dataclass
class SteerTask:
    name: str
    description: str
    items: list[tuple[str, str]]  # (input, gold)
    labels: tuple[str, ...] = ()  # a closed label set, for label matching
    case_sensitive: bool = False
    max_tokens: int = 16
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # gold -> other accepted answers


_PUNCT = re.compile(f"[{re.escape(string.punctuation)}“”‘’«»]")


def normalise(text: str, case_sensitive: bool = False) -> str:
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = _PUNCT.sub(" ", text if case_sensitive else text.lower())
    return " ".join(text.split())


def _words_in(needle: str, hay: str) -> bool:
    return bool(needle) and f" {needle} " in f" {hay} "


def match(task: SteerTask, answer: str, gold: str) -> dict[str, bool]:
    """{"exact": ..., "lenient": ...} for one answer."""
    cs = task.case_sensitive
    got = normalise(answer, cs)
    golds = [normalise(g, cs) for g in (gold, *task.aliases.get(gold, ()))]
    exact = got in golds
    lenient = any(_words_in(g, got) for g in golds)
    if lenient and task.labels:
        others = [normalise(lab, cs) for lab in task.labels if normalise(lab, cs) not in golds]
        lenient = not any(_words_in(o, got) for o in others)
    return {"exact": exact, "lenient": exact or lenient}


_POS = ["wonderful", "delightful", "brilliant", "charming", "superb", "moving", "fantastic", "lovely", "excellent", "gripping",
        "heartwarming", "hilarious"]
_NEG = ["boring", "dreadful", "awful", "tedious", "clumsy", "painful", "dull", "terrible", "disappointing", "forgettable",
        "lifeless", "annoying"]
_THINGS = ["film", "book", "concert", "meal", "show", "play", "album", "hotel", "game", "lecture", "series", "tour"]


def _sentiment() -> list[tuple[str, str]]:
    items = []
    for i, thing in enumerate(_THINGS):
        items.append((f"The {thing} was {_POS[i]} from start to finish.", "great"))
        items.append((f"Honestly, the {thing} was {_NEG[(i + 5) % len(_NEG)]}.", "awful"))
    return items


# (thing, true category, false category)
_KINDS = [("a dolphin", "mammal", "fish"), ("a sparrow", "bird", "reptile"), ("a salmon", "fish", "mammal"),
          ("a banana", "fruit", "vegetable"), ("a carrot", "vegetable", "fruit"), ("copper", "metal", "gas"),
          ("Mars", "planet", "star"), ("the Sun", "star", "planet"), ("oxygen", "gas", "metal"),
          ("a whale", "mammal", "fish"), ("a penguin", "bird", "mammal"), ("a snake", "reptile", "bird"),
          ("an apple", "fruit", "vegetable"), ("iron", "metal", "liquid"), ("Paris", "city", "country"),
          ("Japan", "country", "city"), ("the Nile", "river", "mountain"), ("Everest", "mountain", "river"),
          ("English", "language", "country"), ("a tulip", "flower", "tree"), ("an oak", "tree", "flower"),
          ("a frog", "amphibian", "mammal")]


def _yes_no() -> list[tuple[str, str]]:
    def art(word: str) -> str:
        return ("an " if word[0] in "aeiou" else "a ") + word

    items = []
    for i, (thing, yes, no) in enumerate(_KINDS):
        truthful = i % 2 == 0  # alternate so that half the answers are "no"
        items.append((f"Is {thing} {art(yes if truthful else no)}?", "yes" if truthful else "no"))
    return items


def _arithmetic() -> list[tuple[str, str]]:
    pairs = [(12, 7), (25, 19), (8, 9), (40, 13), (66, 21), (7, 35), (14, 14), (99, 1), (31, 48), (56, 17), (3, 88),
             (70, 25), (45, 45), (18, 62), (9, 6), (27, 33), (50, 49), (11, 90), (64, 8), (23, 57), (37, 5), (81, 12)]
    return [(f"{a} + {b}", str(a + b)) for a, b in pairs]


_CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"),
             ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Russia", "Moscow"), ("Greece", "Athens"), ("Norway", "Oslo"),
             ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Portugal", "Lisbon"), ("Ireland", "Dublin"), ("Poland", "Warsaw"),
             ("China", "Beijing"), ("Thailand", "Bangkok"), ("Austria", "Vienna"), ("Sweden", "Stockholm"),
             ("Argentina", "Buenos Aires"), ("Cuba", "Havana"), ("Finland", "Helsinki")]
_CITIES = [("Toronto", "Canada"), ("Osaka", "Japan"), ("Munich", "Germany"), ("Barcelona", "Spain"), ("Milan", "Italy"),
           ("Lyon", "France"), ("Chicago", "United States"), ("Sydney", "Australia"), ("Mumbai", "India"),
           ("Rio de Janeiro", "Brazil"), ("Istanbul", "Turkey"), ("Shanghai", "China"), ("Manchester", "England"),
           ("Krakow", "Poland"), ("Porto", "Portugal"), ("Cape Town", "South Africa"), ("Seattle", "United States"),
           ("Marseille", "France"), ("Naples", "Italy"), ("Hamburg", "Germany"), ("Kyoto", "Japan"), ("Vancouver", "Canada")]
_FRENCH = [("cat", "chat"), ("dog", "chien"), ("house", "maison"), ("water", "eau"), ("bread", "pain"), ("apple", "pomme"),
           ("book", "livre"), ("sun", "soleil"), ("moon", "lune"), ("car", "voiture"), ("tree", "arbre"), ("milk", "lait"),
           ("cheese", "fromage"), ("friend", "ami"), ("school", "école"), ("red", "rouge"), ("green", "vert"),
           ("black", "noir"), ("hello", "bonjour"), ("thank you", "merci"), ("night", "nuit"), ("sea", "mer")]
_ANTONYMS = [("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"), ("up", "down"), ("open", "closed"),
             ("light", "dark"), ("early", "late"), ("full", "empty"), ("strong", "weak"), ("rich", "poor"), ("old", "young"),
             ("hard", "soft"), ("wet", "dry"), ("high", "low"), ("long", "short"), ("true", "false"), ("win", "lose"),
             ("push", "pull"), ("buy", "sell"), ("inside", "outside"), ("love", "hate")]
_PLURALS = [("cat", "cats"), ("child", "children"), ("mouse", "mice"), ("box", "boxes"), ("city", "cities"),
            ("man", "men"), ("tooth", "teeth"), ("leaf", "leaves"), ("bus", "buses"), ("woman", "women"), ("foot", "feet"),
            ("baby", "babies"), ("knife", "knives"), ("goose", "geese"), ("dish", "dishes"), ("story", "stories"),
            ("apple", "apples"), ("person", "people"), ("wolf", "wolves"), ("glass", "glasses"), ("sheep", "sheep"),
            ("potato", "potatoes")]
_COLOURS = [("banana", "yellow"), ("grass", "green"), ("snow", "white"), ("coal", "black"), ("a ripe tomato", "red"),
            ("the clear daytime sky", "blue"), ("a carrot", "orange"), ("milk", "white"), ("a lemon", "yellow"),
            ("blood", "red"), ("a lime", "green"), ("a crow", "black"), ("chocolate", "brown"), ("an orange", "orange"),
            ("a polar bear", "white"), ("a strawberry", "red"), ("a frog", "green"), ("an eggplant", "purple"),
            ("a flamingo", "pink"), ("the ocean", "blue"), ("a pumpkin", "orange"), ("charcoal", "black")]
_NAMES = [("Dr. Maria Lopez will present the results.", "Maria"), ("Please send the files to James Carter.", "James"),
          ("Our new teacher is Mrs. Aiko Tanaka.", "Aiko"), ("The prize went to Samuel Okafor this year.", "Samuel"),
          ("I had lunch with Priya Sharma yesterday.", "Priya"), ("Professor Lars Eriksson retired in May.", "Lars"),
          ("Call Elena Petrova before noon.", "Elena"), ("The book was written by Thomas Becker.", "Thomas"),
          ("Ask Fatima Haddad about the schedule.", "Fatima"), ("Captain Diego Alvarez landed the plane.", "Diego"),
          ("Sophie Martin joined the team on Monday.", "Sophie"), ("The letter was signed by Kofi Mensah.", "Kofi"),
          ("Yesterday Hannah Schmidt won the race.", "Hannah"), ("Mr. Ravi Patel fixed the printer.", "Ravi"),
          ("Nadia Rahman is the new manager.", "Nadia"), ("The song is performed by Lucas Silva.", "Lucas"),
          ("We hired Grace O'Neill as a designer.", "Grace"), ("Chef Marco Rossi cooked dinner.", "Marco"),
          ("The report came from Olga Ivanova.", "Olga"), ("Please welcome Daniel Kim to the stage.", "Daniel"),
          ("My neighbour Ahmed Karimi plays the violin.", "Ahmed"), ("The award was accepted by Chloe Dubois.", "Chloe")]
_SHOUT = ["the meeting starts at nine", "please close the door", "we need more coffee", "the train is late again",
          "my cat likes the sun", "turn left at the bank", "dinner is ready", "the shop opens on monday",
          "bring a warm coat", "the river is very wide", "call me after lunch", "this road is closed",
          "she plays the piano", "keep the change", "the sky is clear today", "water the plants",
          "the bus stops here", "read the first page", "he forgot his keys", "the park is quiet",
          "lock the back door", "our team won the match"]


def tasks() -> list[SteerTask]:
    """The 11 tasks, at least 20 items each."""
    return [
        SteerTask("sentiment", "Decide if the review is positive or negative. Answer with the single word great "
                  "for a positive review and awful for a negative one.", _sentiment(), labels=("great", "awful"), max_tokens=8),
        SteerTask("yes_no", "Answer the question with yes or no only.", _yes_no(), labels=("yes", "no"), max_tokens=8),
        SteerTask("arithmetic", "Add the two numbers and reply with the result as digits only.", _arithmetic(), max_tokens=8),
        SteerTask("capital", "Name the capital city of the country.", _CAPITALS, max_tokens=10),
        SteerTask("city_country", "Say which country the city is in. Reply with the country name only.", _CITIES,
                  max_tokens=10, aliases={"United States": ("USA", "US", "United States of America", "America"),
                                          "England": ("United Kingdom", "UK")}),
        SteerTask("french", "Translate the English word into French. Give only the French word.", _FRENCH, max_tokens=10,
                  aliases={"école": ("ecole",), "ami": ("amie",)}),
        SteerTask("antonym", "Give the opposite of the word, as one word.", _ANTONYMS, max_tokens=8,
                  aliases={"closed": ("close", "shut"), "outside": ("out",)}),
        SteerTask("plural", "Write the plural form of the noun.", _PLURALS, max_tokens=8),
        SteerTask("colour", "What colour is this thing? Answer with one colour word.", _COLOURS, max_tokens=8,
                  aliases={"grey": ("gray",)}),
        SteerTask("first_name", "Extract the person's first name from the sentence and reply with it alone.", _NAMES,
                  case_sensitive=False, max_tokens=8),
        SteerTask("shout", "Repeat the text exactly, but in capital letters.", [(s, s.upper()) for s in _SHOUT],
                  case_sensitive=True, max_tokens=24),
    ]


OTHER_OFFSET = 4  # "other" takes the description of the task this many places on: unlike tasks pair up


def other_task(all_tasks: list[SteerTask], i: int) -> SteerTask:
    return all_tasks[(i + OTHER_OFFSET) % len(all_tasks)]
