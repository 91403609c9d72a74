#include "recorder/secrets.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace agenttrace {
namespace {

// Test credentials are assembled from pieces so that no complete token sits in the source (secret
// scanners of code hosts would flag it); they are random strings in the real formats' shapes.
const std::string kGithubToken = std::string("ghp_") + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z05";  // 36 after ghp_
const std::string kAwsKeyId = std::string("AKIA") + "Z7Q4X2M9K3L8P5R1";
const std::string kJwt = std::string("eyJhbGciOiJIUzI1NiJ9") + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" +
                         ".dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";

Hash256 Key(uint8_t fill) {
  Hash256 k;
  k.fill(fill);
  return k;
}

TEST(IsSecretEnvTest, CredentialNamesWithCredentialValues) {
  for (const char* name : {"GITHUB_TOKEN", "github_token", "GH_TOKEN", "NPM_TOKEN", "SLACKTOKEN", "OPENAI_API_KEY",
                           "ANTHROPIC_API_KEY", "STRIPE_KEY", "SSH_KEYS", "DB_PASSWORD", "PGPASSWORD",
                           "MYSQL_ROOT_PASSWD", "GPG_PASSPHRASE", "AZURE_CREDENTIALS", "JIRA_PAT",
                           "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CLIENT_SECRET", "MAPSAPIKEY",
                           "SIGNING_PRIVATE_KEY", "Aws_Secret_Access_Key", "MYSQL_PWD", "REDIS_PASS", "BASIC_AUTH"}) {
    EXPECT_TRUE(IsSecretEnv(name, "Zq8vN2mKp4")) << name;
  }
}

TEST(IsSecretEnvTest, OrdinaryNames) {
  for (const char* name : {"PATH", "HOME", "PWD", "OLDPWD", "USER", "SHELL", "TERM", "LANG", "XKB_KEYBOARD",
                           "KEYBOARD_LAYOUT", "AWS_REGION", "TOKENIZERS_PARALLELISM", "DATABASE_URL", "PATHEXT",
                           "KEY", "MONKEY", "SSH_AUTH_SOCK", "PATCH_LEVEL", "HISTFILE", "MAX_TOKENS", ""}) {
    EXPECT_FALSE(IsSecretEnv(name, "Zq8vN2mKp4")) << name;
  }
}

// Issue #10: every exec of every session became a secret.read on machines that set these.
TEST(IsSecretEnvTest, ConfigurationUnderCredentialLikeNamesRegression) {
  EXPECT_FALSE(IsSecretEnv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"));
  EXPECT_FALSE(IsSecretEnv("AWS_DEFAULT_OUTPUT", "json"));
  EXPECT_FALSE(IsSecretEnv("AWS_SDK_LOAD_CONFIG", "1"));
  EXPECT_FALSE(IsSecretEnv("PASSWORD_MIN_LENGTH", "12"));
  EXPECT_FALSE(IsSecretEnv("SECRET_SCANNING", "enabled"));
  EXPECT_FALSE(IsSecretEnv("PASSWORD_STORE_DIR", "/home/u/.password-store"));
  EXPECT_FALSE(IsSecretEnv("CREDENTIALS_DIRECTORY", "/run/credentials/app.service"));
}

// A path or a boolean is not a secret even if the name says it is.
TEST(IsSecretEnvTest, ValueShapeOverridesName) {
  EXPECT_FALSE(IsSecretEnv("GITHUB_TOKEN", ""));
  EXPECT_FALSE(IsSecretEnv("API_KEY", "/run/secrets/api_key"));
  EXPECT_FALSE(IsSecretEnv("API_KEY", "~/.config/key"));
  EXPECT_FALSE(IsSecretEnv("USE_API_KEY", "true"));
  EXPECT_FALSE(IsSecretEnv("SLACK_TOKEN", "false"));
  EXPECT_FALSE(IsSecretEnv("TOKEN_URL", "https://auth.example.com/token"));
  EXPECT_TRUE(IsSecretEnv("DB_PASSWORD", "12345678"));   // a numeric password
  EXPECT_FALSE(IsSecretEnv("DB_PASSWORD", "5432"));      // too short to be anything but a number
  EXPECT_TRUE(IsSecretEnv("SESSION_SECRET", "keyboard cat"));
}

// Issue #10: credentials under names that say nothing.
TEST(IsSecretEnvTest, CredentialValuesUnderOrdinaryNamesRegression) {
  EXPECT_TRUE(IsSecretEnv("REDIS_URL", "redis://:hunter22pw@cache:6379/0"));
  EXPECT_TRUE(IsSecretEnv("SENTRY_DSN", "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"));
  EXPECT_TRUE(IsSecretEnv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0000/B0000/FAKEexample0000XXXXXXXX"));
  EXPECT_TRUE(IsSecretEnv("AZURE_STORAGE_CONNECTION_STRING",
                          "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=FAKE0000key==;EndpointSuffix=core"));
  EXPECT_TRUE(IsSecretEnv("NOTES", "contains " + kAwsKeyId));
  EXPECT_FALSE(IsSecretEnv("REDIS_URL", "redis://cache:6379/0"));
}

// A credential word that is not the last word needs a random-looking value.
TEST(IsSecretEnvTest, WeakNamesNeedRandomValues) {
  EXPECT_TRUE(IsSecretEnv("SECRET_KEY_BASE", "0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(IsSecretEnv("KEY_VAULT_NAME", "kv-prod-westeurope"));
  EXPECT_FALSE(IsSecretEnv("GPG_KEY_ID", "3AA5C34371567BD2"));
  EXPECT_FALSE(IsSecretEnv("STRIPE_PUBLISHABLE_KEY", "pk_live_EXAMPLE0000publishable0000"));
  // A URL under such a name is a capability URL when it carries a random key.
  EXPECT_TRUE(IsSecretEnv("TEAMS_WEBHOOK_URL", "https://hooks.example.com/in/Zq8vN2mKp4xY7wL1aB3cD5"));
  EXPECT_FALSE(IsSecretEnv("SLACK_WEBHOOK_URL", "https://hooks.example.com/in/deployments"));
  EXPECT_TRUE(IsSecretEnv("TAILSCALE_AUTHKEY", "FAKE0000"));
}

TEST(IsSecretEnvTest, OverlongNameIsClassifiedByValueOnly) {
  EXPECT_FALSE(IsSecretEnv(std::string(300, 'A') + "_TOKEN", "Zq8vN2mKp4"));
  EXPECT_TRUE(IsSecretEnv(std::string(300, 'A') + "_TOKEN", kGithubToken));
}

TEST(LooksLikeSecretValueTest, KnownFormats) {
  const std::vector<std::string> secrets = {
      kGithubToken,
      std::string("gho_") + "16C7e42F292c6912E7710c838347Ae178B4a",
      std::string("github_pat_") + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
      kAwsKeyId,
      std::string("ASIA") + "ABCDEFGHIJ234567",
      std::string("xoxb-") + "1234567890-abcdefABCDEF",
      std::string("sk-") + "abcdefghijKLMNOPQRST0123456789ab",
      std::string("sk-proj-") + "Abc123_def456-GHI789jklMNO",
      std::string("sk-ant-") + "api03-Abc123def456ghi789JKL",
      std::string("AIza") + "SyD-1234567890abcdefghijklmnopqrstu",
      std::string("sk_live_") + "4eC39HqLyjWDarjtT1zdp7dc",
      std::string("rk_live_") + "4eC39HqLyjWDarjtT1zdp7dc",
      kJwt,
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
      "postgres://app:hunter22@db.internal:5432/prod",
      "see https://user:pa55word@example.com/x for details",
      "Authorization: Bearer " + kGithubToken,
      "redis://:hunter22pw@cache:6379",
      "DB_PASSWORD=correcthorse ./migrate",
      "--api-key=Zq8vN2mKp4xY7wL1",
      "--api-key Zq8vN2mKp4xY7wL1aB3cD5",
      "curl -u admin:hunter22 https://x",
      "https://hooks.slack.com/services/T0000/B0000/FAKEexample0000XXXXXXXX",
      "AccountKey=FAKE0000key==;",
      "{\"password\":\"hunter22\"}",
      "PlainLoginModule required username=\"app\" password=\"hunter22\";",  // quoted, as in a JAAS config
      "curl -H 'X-Api-Key: Zq8vN2mKp4xY' https://x",
      "https://example.webhook.office.com/webhookb2/0000-fake@0000/IncomingWebhook/FAKE0000EXAMPLE0000abcd/0",
      std::string("tskey-auth-") + "FAKE0000-EXAMPLE0000",
      "helm repo add p https://charts --password FAKEhelm0000pass",
  };
  for (const auto& s : secrets) EXPECT_TRUE(LooksLikeSecretValue(s)) << s;
}

TEST(LooksLikeSecretValueTest, FalsePositives) {
  const std::vector<std::string> plain = {
      "",
      "/usr/local/bin:/usr/bin:/bin",
      "hello world",
      "ghp_short",
      "AKIA1234",                                     // too short for an AWS key id
      "XAKIAZ7Q4X2M9K3L8P5R1",                        // inside a longer word
      "sk-learn-preprocessing-pipeline-tools",        // kebab-case name, no digits
      "task-runner-configuration-1234567890",         // "sk-" inside a word
      "https://example.com/path?q=1",
      "https://user@example.com/",                    // user without password
      "git@github.com:org/repo.git",
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYH",
      "-----BEGIN CERTIFICATE-----",
      "eyJhbGciOiJIUzI1NiJ9",                         // one JWT part alone
      "sk_test_4eC39HqLyjWDarjtT1zdp7dc",             // Stripe test keys are not live credentials
      "0123456789abcdef0123456789abcdef01234567",     // a git commit id
      "git commit -m 'fix the token refresh when the password expires'",
      "echo $GITHUB_TOKEN",
      "--password-file=/run/secrets/db",
      "env PASSWORD_MIN_LENGTH=12 OLDPWD=/home/u ./configure",
      "psql postgres://app@db/prod",
  };
  for (const auto& s : plain) EXPECT_FALSE(LooksLikeSecretValue(s)) << s;
}

TEST(SecretScannerTest, ClassifiesEnvironment) {
  SecretScanner scanner(Key(1), {"PATH=/usr/bin:/bin", "GITHUB_TOKEN=" + kGithubToken, "HOME=/root",
                                 "DATABASE_URL=postgres://app:hunter22@db/prod", "CACHE_URL=redis://cache:6379",
                                 "AWS_REGION=eu-west-1", "NOTES=contains " + kAwsKeyId, "malformed", "=x"});
  EXPECT_EQ(scanner.env_names(), (std::vector<std::string>{"PATH", "GITHUB_TOKEN", "HOME", "DATABASE_URL",
                                                           "CACHE_URL", "AWS_REGION", "NOTES"}));
  EXPECT_EQ(scanner.secret_env_names(), (std::vector<std::string>{"GITHUB_TOKEN", "DATABASE_URL", "NOTES"}));
}

TEST(SecretScannerTest, FingerprintFormatAndStability) {
  SecretScanner a(Key(1), {});
  SecretScanner a2(Key(1), {"X=y"});
  SecretScanner b(Key(2), {});
  const std::string fp = a.Fingerprint("hunter22");
  EXPECT_TRUE(std::regex_match(fp, std::regex("<secret:fp:[0-9a-f]{64}>"))) << fp;
  EXPECT_EQ(fp, a.Fingerprint("hunter22"));
  EXPECT_EQ(fp, a2.Fingerprint("hunter22"));  // same key, another scanner
  EXPECT_NE(fp, b.Fingerprint("hunter22"));   // another store's key
  EXPECT_NE(fp, a.Fingerprint("hunter23"));
}

TEST(SecretScannerTest, RedactsKnownValueInsideLongerArgument) {
  // A value that has no well-known shape: only the environment tells it is secret.
  SecretScanner scanner(Key(7), {"DB_PASSWORD=correct-horse-battery", "SHORT_TOKEN=abc12"});
  std::string arg = "--dsn=host=db password=correct-horse-battery sslmode=require";
  EXPECT_TRUE(scanner.Redact(&arg));
  EXPECT_EQ(arg, "--dsn=host=db password=" + scanner.Fingerprint("correct-horse-battery") + " sslmode=require");
  // Values shorter than 6 bytes are not remembered.
  std::string short_arg = "x=abc12";
  EXPECT_FALSE(scanner.Redact(&short_arg));
  EXPECT_EQ(short_arg, "x=abc12");
}

TEST(SecretScannerTest, RedactsEveryOccurrenceAndNoValueSurvives) {
  SecretScanner scanner(Key(3), {"GITHUB_TOKEN=" + kGithubToken});
  std::string arg = "curl -H 'Authorization: token " + kGithubToken + "' -u x:" + kGithubToken + " " + kAwsKeyId +
                    " " + kJwt;
  EXPECT_TRUE(scanner.Redact(&arg));
  EXPECT_EQ(arg.find(kGithubToken), std::string::npos) << arg;
  EXPECT_EQ(arg.find(kAwsKeyId), std::string::npos) << arg;
  EXPECT_EQ(arg.find(kJwt.substr(0, 30)), std::string::npos) << arg;
  const std::string fp = scanner.Fingerprint(kGithubToken);
  size_t first = arg.find(fp);
  ASSERT_NE(first, std::string::npos) << arg;
  EXPECT_NE(arg.find(fp, first + 1), std::string::npos) << arg;
  EXPECT_NE(arg.find(scanner.Fingerprint(kAwsKeyId)), std::string::npos) << arg;
  EXPECT_NE(arg.find(scanner.Fingerprint(kJwt)), std::string::npos) << arg;
}

TEST(SecretScannerTest, RedactsTokenNotInEnvironment) {
  SecretScanner scanner(Key(3), {});
  std::string arg = "echo " + kGithubToken + "!";
  EXPECT_TRUE(scanner.Redact(&arg));
  EXPECT_EQ(arg, "echo " + scanner.Fingerprint(kGithubToken) + "!");
}

TEST(SecretScannerTest, RedactsOnlyCredentialsOfUrl) {
  SecretScanner scanner(Key(3), {});
  std::string arg = "git clone https://bot:s3cretpass@git.example.com/org/repo.git";
  EXPECT_TRUE(scanner.Redact(&arg));
  EXPECT_EQ(arg, "git clone https://" + scanner.Fingerprint("bot:s3cretpass") + "@git.example.com/org/repo.git");
}

TEST(SecretScannerTest, RedactsPemBlock) {
  SecretScanner scanner(Key(3), {});
  std::string pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk\n-----END EC PRIVATE KEY-----";
  std::string arg = "key=" + pem + "\ntrailer";
  EXPECT_TRUE(scanner.Redact(&arg));
  EXPECT_EQ(arg, "key=" + scanner.Fingerprint(pem) + "\ntrailer");
}

TEST(SecretScannerTest, LeavesOrdinaryTextAlone) {
  SecretScanner scanner(Key(3), {"PATH=/usr/bin", "HOME=/root", "AWS_SHARED_CREDENTIALS_FILE=/root/.aws/credentials"});
  std::string arg = "cat /root/.aws/credentials /usr/bin/env sk-learn-is-a-python-library";
  const std::string before = arg;
  EXPECT_FALSE(scanner.Redact(&arg));
  EXPECT_EQ(arg, before);
  // A path to a credential file is not a credential: reading the file is recorded on its own.
  EXPECT_TRUE(scanner.secret_env_names().empty());
}

// Issue #10: the password of a database URL known from the environment, typed alone in argv.
TEST(SecretScannerTest, RedactsPasswordOfKnownUrlAloneRegression) {
  SecretScanner scanner(Key(4), {"DATABASE_URL=postgres://app:Tr0ub4dor3x@db.internal:5432/prod",
                                 "REDIS_URL=redis://:s3cretRedis@cache:6379"});
  for (std::string arg : {std::string("-pTr0ub4dor3x"), std::string("Tr0ub4dor3x"),
                          std::string("host=db password=Tr0ub4dor3x"), std::string("AUTH s3cretRedis")}) {
    const std::string before = arg;
    EXPECT_TRUE(scanner.Redact(&arg)) << before;
    EXPECT_EQ(arg.find("Tr0ub4dor3x"), std::string::npos) << arg;
    EXPECT_EQ(arg.find("s3cretRedis"), std::string::npos) << arg;
  }
  std::string arg = "-pTr0ub4dor3x";
  scanner.Redact(&arg);
  EXPECT_EQ(arg, "-p" + scanner.Fingerprint("Tr0ub4dor3x"));
}

TEST(SecretScannerTest, RedactsAssignmentsAndFlagsByName) {
  SecretScanner scanner(Key(5), {});
  std::string arg = "env DB_PASSWORD=correcthorse PASSWORD_MIN_LENGTH=12 ./migrate --api-key Zq8vN2mKp4xY7wL1aB3cD5";
  EXPECT_TRUE(scanner.Redact(&arg));
  EXPECT_EQ(arg, "env DB_PASSWORD=" + scanner.Fingerprint("correcthorse") + " PASSWORD_MIN_LENGTH=12 ./migrate --api-key " +
                     scanner.Fingerprint("Zq8vN2mKp4xY7wL1aB3cD5"));
  // A URL's credentials inside an assignment: only they are replaced, the host stays readable.
  std::string url = "DATABASE_URL=postgres://app:hunter22@db/prod";
  EXPECT_TRUE(scanner.Redact(&url));
  EXPECT_EQ(url, "DATABASE_URL=postgres://" + scanner.Fingerprint("app:hunter22") + "@db/prod");
}

// In exec argv a flag and its value are separate arguments.
TEST(SecretScannerTest, RedactArgvSeesFlagValuePairs) {
  SecretScanner scanner(Key(6), {});
  std::vector<std::string> argv = {"deploy", "--api-key", "Zq8vN2mKp4xY7wL1aB3cD5", "--region", "eu-west-1",
                                   "-u", "admin:hunter22", "--name", "Zq8vN2mKp4xY7wL1aB3cD5x"};
  EXPECT_TRUE(scanner.RedactArgv(&argv));
  EXPECT_EQ(argv, (std::vector<std::string>{"deploy", "--api-key", scanner.Fingerprint("Zq8vN2mKp4xY7wL1aB3cD5"),
                                            "--region", "eu-west-1", "-u", scanner.Fingerprint("admin:hunter22"),
                                            "--name", "Zq8vN2mKp4xY7wL1aB3cD5x"}));
  std::vector<std::string> plain = {"psql",   "--password", "mydb",          "git",     "commit", "-m",
                                    "token refresh", "--token", "/run/secrets/tok", "--secret", "$SECRET"};
  EXPECT_FALSE(scanner.RedactArgv(&plain));
}

TEST(SecretScannerTest, BinaryAndHugeInputStayBounded) {
  SecretScanner scanner(Key(3), {});
  std::string junk(1 << 20, '\xff');
  junk += kGithubToken;
  junk += ' ';
  junk += std::string(1 << 20, 'a');
  EXPECT_TRUE(scanner.Redact(&junk));
  EXPECT_EQ(junk.find(kGithubToken), std::string::npos);
  EXPECT_EQ(junk.size(), (2u << 20) + 1 + scanner.Fingerprint(kGithubToken).size());
}

}  // namespace
}  // namespace agenttrace
