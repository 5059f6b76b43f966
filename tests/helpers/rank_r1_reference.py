# ruff: noqa: B905, E501  (the authors' statements and prompt file, kept as they wrote them)
"""The Rank-R1 authors' setwise comparison, transcribed for the parity tests (test data, not
package code), and two engines that both sides run.

Source: ``R1SetwiseLlmRanker.compare`` in ielab/llm-rankers ``Rank-R1/run_setwise.py`` at commit
b36517bf17a3956dc56c4c967f972d02390b1cdd (the script of the paper's TREC DL runs), and its
prompt file ``Rank-R1/prompts/prompt_setwise-R1.toml`` (``AUTHORS_TOML``, verbatim). The PyPI
package llm-rankers 0.0.2 predates Rank-R1 (no ``RankR1SetwiseLlmRanker``) and the script
imports vLLM and pyserini at the top, so ``compare`` is reproduced statement for statement (its
prints left out) on a subclass of the installed ``llmrankers.setwise.SetwiseLlmRanker``, whose
own ``heapify`` / ``heapSort`` / ``rerank`` / ``truncate`` then run unchanged. vLLM's
``LLM.chat`` is replaced by an engine object (:class:`HFChat`: the chat template, the tokenizer
and greedy ``generate`` of a Hugging Face model, as vLLM does them; :class:`ScriptedEngine`: a
scripted writer), and ``SamplingParams`` by a namespace with ``max_tokens``.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from types import SimpleNamespace

AUTHORS_TOML = r'''prompt_system = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>."

prompt_user = \'\'\'Given the query: "{query}", which of the following documents is most relevant?
{docs}
After completing the reasoning process, please provide only the label of the most relevant document to the query, enclosed in square brackets, within the answer tags. For example, if the third document is the most relevant, the answer should be: <think> reasoning process here </think> <answer>[3]</answer>.\'\'\'

pattern = '<think>.*?</think>\s*<answer>(.*?)</answer>'

doc_separator = "\n"

doc_prefix = "[{num}]: "'''.replace("\\'", "'")
#: sha256 of Rank-R1/prompts/prompt_setwise-R1.toml at commit b36517b
AUTHORS_TOML_SHA256 = "532f5dcc1b05b59a96c9c80042fe97491f2c1a72e06db6965af5be8fdbf9977c"


def authors_prompt() -> dict:
    import tomllib

    assert hashlib.sha256(AUTHORS_TOML.encode()).hexdigest() == AUTHORS_TOML_SHA256
    return tomllib.loads(AUTHORS_TOML)


def reference_class():
    """``R1SetwiseLlmRanker`` over the installed llm-rankers' ``SetwiseLlmRanker``."""
    from llmrankers.setwise import SetwiseLlmRanker

    class R1SetwiseLlmRanker(SetwiseLlmRanker):
        CHARACTERS = [f'[{i+1}]' for i in range(20)]

        def __init__(self, llm, tokenizer, prompt, num_child=3, k=10, method="heapsort",
                     max_tokens=8000):
            self.prompt = prompt
            self.lora_path = None
            self.num_child = num_child
            self.num_permutation = 1
            self.k = k
            self.sampling_params = SimpleNamespace(temperature=0.0, max_tokens=max_tokens)
            self.tokenizer = tokenizer
            self.llm = llm
            self.scoring = "generation"
            self.method = method
            self.total_compare = 0
            self.total_completion_tokens = 0
            self.total_prompt_tokens = 0

        def compare(self, query, docs):   # run_setwise.py, R1SetwiseLlmRanker.compare
            self.total_compare += 1 if self.num_permutation == 1 else self.num_permutation

            id_passage = [(i, p) for i, p in enumerate(docs)]
            labels = [self.CHARACTERS[i] for i in range(len(docs))]
            batch_data = []
            for _ in range(self.num_permutation):
                batch_data.append([random.sample(id_passage, len(id_passage)),
                                   labels])

            batch_ref = []
            input_text = []
            for batch in batch_data:
                ref = []
                passages = []
                characters = []
                for p, c in zip(batch[0], batch[1]):
                    ref.append(p[0])
                    passages.append(p[1].text)
                    characters.append(c)
                batch_ref.append((ref, characters))
                passages = [f"{self.prompt['doc_prefix'].format(num=i + 1)}{doc}"
                            for i, doc in enumerate(passages)]
                passages_text = self.prompt['doc_separator'].join(passages)

                system_message = self.prompt["prompt_system"]
                user_message = self.prompt['prompt_user'].format(query=query,
                                                                 docs=passages_text)
                input_text.append([
                    {'role': "system", 'content': system_message},
                    {'role': "user", 'content': user_message}
                ])
            outputs = self.llm.chat(input_text, sampling_params=self.sampling_params,
                                    use_tqdm=False, lora_request=None)
            results = []
            for output, input in zip(outputs, input_text):
                self.total_completion_tokens += len(output.outputs[0].token_ids)
                self.total_prompt_tokens += len(output.prompt_token_ids)

                completion = output.outputs[0].text
                pattern = rf'{self.prompt["pattern"]}'
                match = re.search(pattern, completion.lower(), re.DOTALL)
                if match:
                    results.append(match.group(1).strip())
                else:
                    results.append(f'input_text:\n{input}, completion:\n{completion}')

            # vote
            candidates = []
            for ref, result in zip(batch_ref, results):
                result = result.strip()
                docids, characters = ref
                if result not in characters:
                    continue
                win_doc = docids[characters.index(result)]
                candidates.append(win_doc)

            if len(candidates) == 0:
                output = "Unexpected voting."
            else:
                # handle tie
                candidate_counts = Counter(candidates)
                max_count = max(candidate_counts.values())
                most_common_candidates = [candidate for candidate, count in
                                          candidate_counts.items() if count == max_count]
                if len(most_common_candidates) == 1:
                    output = self.CHARACTERS[most_common_candidates[0]]
                else:
                    output = self.CHARACTERS[random.choice(most_common_candidates)]
            return output

    return R1SetwiseLlmRanker


# -- engines --------------------------------------------------------------------------------------
def _output(text: str, token_ids: list[int], prompt_ids: list[int]) -> SimpleNamespace:
    return SimpleNamespace(outputs=[SimpleNamespace(text=text, token_ids=token_ids)],
                           prompt_token_ids=prompt_ids)


class HFChat:
    """vLLM's ``LLM.chat`` over a Hugging Face model: the tokenizer's chat template with the
    generation prompt, the text tokenized, greedy generation of at most ``max_tokens``, the new
    tokens decoded with special tokens skipped (up to EOS). Records every prompt's ids."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer, self.calls = model, tokenizer, []

    def chat(self, conversations, sampling_params, use_tqdm=False, lora_request=None):
        import torch

        outs = []
        for conv in conversations:
            text = self.tokenizer.apply_chat_template(conv, tokenize=False,
                                                      add_generation_prompt=True)
            ids = self.tokenizer(text)["input_ids"]
            self.calls.append(ids)
            with torch.inference_mode():
                out = self.model.generate(torch.tensor([ids]), do_sample=False,
                                          max_new_tokens=sampling_params.max_tokens,
                                          pad_token_id=self.tokenizer.eos_token_id)
            new = out[0, len(ids):].tolist()
            eos = self.tokenizer.eos_token_id
            new = new[:new.index(eos)] if eos in new else new
            outs.append(_output(self.tokenizer.decode(new, skip_special_tokens=True), new, ids))
        return outs


_PASSAGE = re.compile(r"^\[(\d+)\]: (.*)$", re.M)


def overlap(query: str, text: str) -> int:
    words = set(re.findall(r"[a-z0-9]+", query.lower()))
    return sum(w in words for w in re.findall(r"[a-z0-9]+", text.lower()))


def scripted_answer(prompt: str) -> str:
    """A judge that writes Rank-R1's format: the passage sharing the most words with the query
    (first on ties), with a malformed answer for some prompts (chosen by the prompt's hash):
    no tags, a label outside the set, upper-case tags (well formed once lower-cased), a
    reasoning too long for a small budget. After a forced ``<answer>`` it writes the label."""
    query = prompt.split('Given the query: "', 1)[-1].split('", which of the following', 1)[0]
    passages = [(int(n), t) for n, t in _PASSAGE.findall(prompt)]
    best = max(passages, key=lambda p: (overlap(query, p[1]), -p[0]))[0] if passages else 1
    if prompt.rstrip().endswith("<answer>"):
        return f"[{best}]</answer>"
    kind = int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 8
    if kind == 0:
        return f"I pick document [{best}]."
    if kind == 1:
        return "<think> none fits. </think>\n<answer>[99]</answer>"
    if kind == 2:
        return f"<THINK> Document [{best}] fits. </THINK>\n<ANSWER> [{best}] </ANSWER>"
    if kind == 3:
        return "<think> " + "Let me compare the documents once more. " * 40
    return f"<think> Document [{best}] shares the most words. </think>\n<answer>[{best}]</answer>"


class ScriptedEngine:
    """One scripted writer behind both seams: the LLM backend protocol (ours) and vLLM's
    ``LLM.chat`` (the reference). Token ids come from a real tokenizer; a generation is the
    writer's text tokenized and cut to the token budget."""

    max_context = 32768

    def __init__(self, tokenizer):
        self.tokenizer, self.calls = tokenizer, []

    def config(self):
        return {"backend": "scripted", "model": "scripted"}

    def render_chat(self, messages, chat_template=None, enable_thinking=None):
        return self.tokenizer.apply_chat_template([dict(m) for m in messages], tokenize=False,
                                                  add_generation_prompt=True)

    def encode(self, text, add_special_tokens=False):
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def decode(self, ids):
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def next_token_logits(self, prompts, token_ids):
        raise AssertionError("rank-r1 never reads logits")

    def _write(self, ids, budget):
        self.calls.append(list(ids))
        new = self.encode(scripted_answer(self.decode(ids)))[:budget]
        return self.tokenizer.decode(new, skip_special_tokens=True), new

    def generate(self, prompts, max_new_tokens, min_new_tokens=0):
        from rankify_lite.rerankers.engines.llm_backend import Generation

        out = []
        for ids in prompts:
            text, new = self._write(ids, max_new_tokens)
            out.append(Generation(text, len(ids), len(new)))
        return out

    def chat(self, conversations, sampling_params, use_tqdm=False, lora_request=None):
        outs = []
        for conv in conversations:
            ids = self.encode(self.render_chat(conv), add_special_tokens=True)
            text, new = self._write(ids, sampling_params.max_tokens)
            outs.append(_output(text, new, ids))
        return outs
