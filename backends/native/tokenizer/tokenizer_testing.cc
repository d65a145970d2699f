#include "backends/native/tokenizer/tokenizer_testing.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace edgebench::native::testing {

std::string TokenizerDir() { return EDGEBENCH_TOKENIZER_DIR; }
std::string VocabDir() { return EDGEBENCH_VOCAB_DIR; }
std::string NpmDir() { return EDGEBENCH_TOKENIZER_NPM_DIR; }

std::vector<TestText> EdgeCaseTexts() {
  // The source is UTF-8; invisible characters are written as escapes.
  return {
      {"empty", ""},
      {"whitespace", " "},
      {"whitespace", "  "},
      {"whitespace", "   "},
      {"whitespace", "\t"},
      {"whitespace", " \t "},
      {"whitespace", "\t\tdouble tab"},
      {"whitespace", "a  b"},
      {"whitespace", "a   b"},
      {"whitespace", "a \t b"},
      {"whitespace", " leading space"},
      {"whitespace", "   three leading spaces"},
      {"whitespace", "trailing space "},
      {"whitespace", "trailing spaces   "},
      {"whitespace", "  both ends  "},
      {"whitespace", "tab\tseparated\tvalues"},
      {"whitespace", "multiple     spaces     inside"},
      {"whitespace", "no\u00A0break\u00A0space"},
      {"whitespace", "ideographic\u3000space"},
      {"whitespace", "em\u2003space and thin\u2009space"},
      {"newline", "\n"},
      {"newline", "\n\n"},
      {"newline", "\n\n\n"},
      {"newline", "line one\nline two"},
      {"newline", "a\n\n\nb"},
      {"newline", " \n \n"},
      {"newline", "\r\n"},
      {"newline", "x\r\ny\rz"},
      {"newline", "  \n  x"},
      {"newline", "para one.\n\npara two.\n"},
      {"newline", "\t\n  \n   \n    \n"},
      {"newline", "end with newline\n"},
      {"newline", "    Hello\n    Hello"},
      {"digits", "0"},
      {"digits", "12"},
      {"digits", "123"},
      {"digits", "1234"},
      {"digits", "12345678901234567890"},
      {"digits", "3.14159265358979323846"},
      {"digits", "1,000,000.00"},
      {"digits", "2024-03-17T09:30:00Z"},
      {"digits", "v1.2.3-rc4"},
      {"digits", "1st 2nd 3rd 4th"},
      {"digits", "x1y22z333w4444"},
      {"digits", " 42"},
      {"digits", "Arabic-Indic ٣٤٥ and Devanagari १२३"},
      {"digits", "circled ①②③ fractions ½ ¾ superscript 10⁶"},
      {"digits", "fullwidth １２３４"},
      {"contraction", "don't"},
      {"contraction", "I'm here, you're there, we'll see."},
      {"contraction", "they've she'd it's y'all"},
      {"contraction", "DON'T SHOUT, I'M LISTENING, YOU'RE LOUD"},
      {"contraction", "It'S mIxEd'Ll"},
      {"contraction", "'s"},
      {"contraction", "''"},
      {"contraction", "rock 'n' roll"},
      {"contraction", "O'Neil's dog"},
      {"contraction", "' era"},
      {"unicode", "Hello world"},
      {"unicode", "Äpfel und Birnen"},
      {"unicode", "Cửa Việt"},
      {"unicode", "нещо на Български"},
      {"unicode", "Μῆνιν ἄειδε θεὰ"},
      {"unicode", "你好，世界！"},
      {"unicode", "日本語のテキストです。"},
      {"unicode", "한국어 텍스트"},
      {"unicode", "שלום עולם"},
      {"unicode", "مرحبا بالعالم"},
      {"unicode", "mixed abc אבג def"},
      {"unicode", "नमस्ते दुनिया"},
      {"unicode", "สวัสดีครับ"},
      {"unicode", "កាន់តែពិសេសអាចខលចេញ"},
      {"unicode", "straße İstanbul ǅ ﬁ"},
      {"unicode", "∑∫√∞ ≠ ≤ ≥"},
      {"unicode", "╔═╗ box ╚═╝"},
      {"unicode", "«guillemets» “smart” ‘quotes’ — en–dash …"},
      {"combining", "e\u0301te\u0301"},
      {"combining", "a\u0308o\u0308u\u0308"},
      {"combining", "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032dlgo"},
      {"combining", "n\u0303 and \u00f1"},
      {"emoji", "🦙"},
      {"emoji", " this is 🦙.cpp"},
      {"emoji", "👍🏽 thumbs"},
      {"emoji", "👨‍👩‍👧‍👦 family"},
      {"emoji", "🏳️‍🌈 flag"},
      {"emoji",
       "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ (only emoji that has its "
       "own token)"},
      {"emoji", "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～"},
      {"rare", "龘"},
      {"rare", "𠜎𠜱𠝹"},
      {"rare", "\x01\x02 control \x7f"},
      {"rare", "private \uE000\uF8FF use"},
      {"rare", "zero\u200Bwidth\u200Djoiner"},
      {"rare", "ancient 𓀀𓀁 and 𐌰𐌱"},
      {"code", "int main() { return 0; }"},
      {"code", "if (a && b || !c) { x += 1; y -= 2; }"},
      {"code", "def f(x):\n    return x ** 2\n"},
      {"code", "for i in range(10):\n\tprint(i)"},
      {"code", "<html><body class=\"x\">hi</body></html>"},
      {"code", "SELECT * FROM t WHERE id = 42;"},
      {"code", "https://example.com/path?q=1&r=2#frag"},
      {"code", "user@example.com"},
      {"code", "#include <stdio.h>"},
      {"code", "arr[i][j] = {0};"},
      {"code", "C:\\Windows\\System32 ~/.bashrc $HOME `code`"},
      {"code", "```python\nprint('hi')\n```"},
      {"code", "a=b+c*d/e%f^g|h&i<j>k"},
      {"punctuation", "Hello!!!"},
      {"punctuation", "What?!"},
      {"punctuation", "..."},
      {"punctuation", "!!!!!!"},
      {"punctuation", "(parens) [brackets] {braces}"},
      {"punctuation", " ("},
      {"punctuation", "\n ="},
      {"punctuation", "--------------------------------"},
      {"punctuation", "================"},
      {"repeat", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
      {"repeat", "ababababababababababab"},
      {"repeat", "the the the the the the the"},
      {"special", "<s>"},
      {"special", "</s>"},
      {"special", "<unk>"},
      {"special", "<s>Hello</s>"},
      {"special", "<|im_start|>user\nhi<|im_end|>"},
      {"special", "<|endoftext|>"},
      {"special", "<|begin_of_text|>text"},
      {"special", "<think>hmm</think>"},
      {"special", "<0x41>"},
  };
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Result<std::unique_ptr<Tokenizer>> TokenizerFromWriter(const gguf::GgufWriter& w,
                                                       const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                   w.ToBytes([](size_t, std::vector<uint8_t>&) { return Status::Ok(); }));
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file,
                   gguf::GgufFile::FromBytes(name, std::move(bytes)));
  return Tokenizer::FromGguf(*file);
}

std::string IdsToString(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? ", " : "") << ids[i];
  s << "]";
  return s.str();
}

std::string Escape(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace edgebench::native::testing
