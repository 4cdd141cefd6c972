-- The words' counts (0009) are kept by one statement per write, over the trigger's
-- transition tables, whose rows the planner cannot see: it takes them for thousands and the
-- lexemes of each for a thousand more, and so JIT-compiles the plan, which took longer than
-- the write itself (an import of the Chinese edition: minutes instead of seconds). The
-- function counts without JIT whatever the connection's settings (a pooler's included).
ALTER FUNCTION chronicle_count_terms() SET jit = off;
