"""Throughput runner for distilabel: N chat requests through ``OpenAILLM`` (its AsyncOpenAI client).

distilabel has no concurrency setting on an LLM: a Task sends each input batch of ``input_batch_size`` rows to
``llm.generate_outputs``, which gathers the whole batch at once and returns when its last reply is in. So
concurrency C is ``generate_outputs`` called on consecutive batches of C inputs, as a pipeline step with
``input_batch_size=C`` would, without the pipeline's worker processes and queues. Run with
bench/.peers-venv/distilabel/bin/python.
"""

from __future__ import annotations

from importlib.metadata import version

from common import MAX_TOKENS, MODEL, Measurement, parse_args, prompts, report


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    from distilabel.models.llms import OpenAILLM

    llm = OpenAILLM(model=MODEL, base_url=args.url + "/v1", api_key="bench", timeout=60)
    llm.load()
    inputs = [[{"role": "user", "content": text}] for text in prompts(args.requests)]
    ok = 0
    with Measurement() as measured:
        for start in range(0, len(inputs), args.concurrency):
            batch = inputs[start:start + args.concurrency]
            outputs = llm.generate_outputs(inputs=batch, num_generations=1, max_new_tokens=MAX_TOKENS)
            ok += sum(1 for output in outputs if output["generations"][0])
    how = "OpenAILLM(base_url=...).generate_outputs on consecutive batches of C inputs (a Task's input_batch_size=C)"
    report("distilabel", version("distilabel"), args, measured, ok, how)


if __name__ == "__main__":
    main()
