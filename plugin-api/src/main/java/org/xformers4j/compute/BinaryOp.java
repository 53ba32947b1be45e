package org.xformers4j.compute;

/** Elementwise maps out = f(a, b) over broadcast operands. */
public enum BinaryOp {
    ADD,
    SUB,
    MUL,
    DIV,
    /** max(a, b). */
    MAXIMUM,
    /** min(a, b). */
    MINIMUM,
    /** 1 where a == b, else 0. */
    EQ,
    /** 1 where a &gt; b, else 0. */
    GT,
    /** 1 where a &lt; b, else 0. */
    LT
}
