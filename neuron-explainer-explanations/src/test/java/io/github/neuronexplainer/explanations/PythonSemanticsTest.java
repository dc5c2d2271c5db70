package io.github.neuronexplainer.explanations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.neuronexplainer.core.records.FloatFormat;
import io.github.neuronexplainer.explanations.prompt.TokenCounter;
import io.github.neuronexplainer.explanations.simulator.PythonJson;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Python behaviours the prompts depend on, checked against outputs verified with CPython (spec
 * §0.2).
 */
class PythonSemanticsTest {
  @Test
  void jsonDumpsMatchesCpython() {
    List<Object> values =
        Arrays.asList(
            "\u007f",
            "\u001f",
            "\u00e9",
            "\ud83d\ude00",
            "/",
            "\\",
            "\"",
            "\u2028",
            "\b\f\r\n\t",
            "\u0000",
            1e-05,
            1e16,
            -0.0,
            0.30000000000000004,
            5L,
            true,
            null);
    assertEquals(
        "[\"\\u007f\", \"\\u001f\", \"\\u00e9\", \"\\ud83d\\ude00\", \"/\", \"\\\\\", \"\\\"\", \"\\u2028\", "
            + "\"\\b\\f\\r\\n\\t\", \"\\u0000\", 1e-05, 1e+16, -0.0, 0.30000000000000004, 5, true, null]",
        PythonJson.dumps(values));
    assertEquals(
        "[NaN, Infinity, -Infinity, 0, 0.0]",
        PythonJson.dumps(
            List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0L, 0.0)));
  }

  @Test
  void floatReprAndOrjsonFormats() {
    assertEquals("1e-05", FloatFormat.pythonRepr(1e-5));
    assertEquals("0.0001", FloatFormat.pythonRepr(1e-4));
    assertEquals("1.5e-07", FloatFormat.pythonRepr(1.5e-7));
    assertEquals("1e+16", FloatFormat.pythonRepr(1e16));
    assertEquals("1234567890123456.0", FloatFormat.pythonRepr(1234567890123456.0));
    assertEquals(
        "5e-324",
        FloatFormat.pythonRepr(Double.MIN_VALUE),
        "shortest digits, unlike Java 17's 4.9E-324");
    assertEquals("0.00001", FloatFormat.orjson(1e-5));
    assertEquals("1e-6", FloatFormat.orjson(1e-6));
    assertEquals("1e16", FloatFormat.orjson(1e16));
    assertEquals("1.2345678901234568e22", FloatFormat.orjson(1.2345678901234568e22));
    assertEquals("123456789.0", FloatFormat.orjson(123456789.0));
    assertEquals("null", FloatFormat.orjson(Double.NaN));
    assertEquals("2.82879384806159e17", FloatFormat.orjson(2.82879384806159E17));
  }

  @Test
  void pythonFloatParsing() {
    assertEquals(3.5, PythonJson.parseFloat("  3.5\n"));
    assertEquals(1000.0, PythonJson.parseFloat("1_000"));
    assertEquals(Double.NEGATIVE_INFINITY, PythonJson.parseFloat("-Infinity"));
    assertEquals(Double.NaN, PythonJson.parseFloat("nan"));
    assertEquals(0.5, PythonJson.parseFloat(".5"));
    assertThrows(
        NumberFormatException.class, () -> PythonJson.parseFloat("1.5d"), "Java-only suffix");
    assertThrows(NumberFormatException.class, () -> PythonJson.parseFloat("0x10"));
    assertThrows(NumberFormatException.class, () -> PythonJson.parseFloat("1__0"));
  }

  @Test
  void stripUsesPythonWhitespace() {
    assertEquals("x", PythonText.strip("\u00a0\u2007\u202f\u0085 x\u3000\u001c"));
    assertEquals(
        "\u200bx", PythonText.strip("\u200bx"), "zero-width space is not whitespace in Python");
    assertEquals(1, PythonText.length("\ud83d\ude00"));
  }

  @Test
  void specialTokensCountAsOne() {
    TokenCounter cl100k = TokenCounter.cl100kBase();
    assertEquals(1, cl100k.count("<|endofprompt|>"));
    assertEquals(cl100k.count("a") + 1 + cl100k.count("b"), cl100k.count("a<|endoftext|>b"));
    assertEquals(1, TokenCounter.r50kBase().count("<|endoftext|>"));
    assertEquals(
        TokenCounter.r50kBase().count("<|endofprompt|>") > 1, true, "not special in GPT-2");
    assertEquals(1, TokenCounter.o200kBase().count("<|endofprompt|>"));
    assertEquals(0, cl100k.count(""));
    assertEquals(TokenCounter.o200kBase(), TokenCounter.forModel("gpt-4o-mini"));
    assertEquals(TokenCounter.o200kBase(), TokenCounter.forModel("o3"));
    assertEquals(TokenCounter.cl100kBase(), TokenCounter.forModel("gpt-4-turbo"));
  }
}
