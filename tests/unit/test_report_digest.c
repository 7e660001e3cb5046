/* SHA-256 against the FIPS 180-4 examples. */
#include <criterion/criterion.h>
#include <string.h>

#include "report_digest.h"

static void assert_hash(const char *data, size_t len, const char *want)
{
    struct vigil_sha256 c;
    char hex[65];
    vigil_sha256_init(&c);
    vigil_sha256_update(&c, data, len);
    vigil_sha256_final_hex(&c, hex);
    cr_assert_str_eq(hex, want);
}

Test(report_digest, matches_the_standard_examples)
{
    assert_hash(
        "", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_hash(
        "abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_hash(
        two, strlen(two),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(report_digest, hashes_in_pieces_like_at_once)
{
    static char a[1000000];
    memset(a, 'a', sizeof(a));
    struct vigil_sha256 c;
    char hex[65];
    vigil_sha256_init(&c);
    for (size_t off = 0; off < sizeof(a); off += 777)
        vigil_sha256_update(&c, a + off,
                            sizeof(a) - off < 777 ? sizeof(a) - off : 777);
    vigil_sha256_final_hex(&c, hex);
    cr_assert_str_eq(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(report_digest, missing_file_is_an_error)
{
    char hex[65];
    cr_assert_eq(vigil_sha256_file("/nonexistent/vigil/indicators.yaml", hex),
                 -1);
}
