/**
 * Known secret formats, as data: the second rule set of `secret-detected` (beside secretlint's recommended
 * preset), modelled on the services gitleaks' default configuration covers (gitleaks, config/gitleaks.toml:
 * the field's reference list of what leaks). Every pattern below was written here from the vendor's own
 * description of its token format, named in `source` in words a user can look up; none is copied from
 * gitleaks or secretlint.
 *
 * Each entry has
 * - `id` (stable, kebab-case, shown in messages) and a `description`;
 * - `keywords`: lower-case literals, one of which the text must contain (case-insensitively) before the
 *   regex is tried: a cheap prefilter, as gitleaks does, so most lines never reach a regex. An empty list is
 *   for the formats without a distinctive literal (Discord bot tokens, Twilio API key SIDs, Telegram bot
 *   tokens, NuGet and Mailchimp keys): they are tried on a line that holds a run of 20 or more base64
 *   characters with a digit, `+`, `/` or two upper-case letters in a row (what every such token has), and on
 *   every decoded or joined text;
 * - `regex`: JavaScript RegExp source, compiled with flags `g` (plus `i` when `caseInsensitive`); `group` is
 *   the capture group holding the secret (default: the whole match);
 * - `minEntropy`: the least Shannon entropy (bits per character) the secret must have, so documentation
 *   placeholders (`sk_live_xxxxxxxxxxxxxxxxxxxxxxxx`) pass; default {@link DEFAULT_MIN_ENTROPY};
 * - `check`: for the few formats a regex alone cannot judge (a URL's password that may be a placeholder, a
 *   private key header that needs a body), a named check in rules/secrets.ts;
 * - `source`: where the format is documented.
 *
 * Pure data and pure functions: no I/O.
 */

/** One known secret format. */
export interface SecretPattern {
  readonly id: string;
  readonly description: string;
  readonly keywords: readonly string[];
  readonly regex: string;
  readonly caseInsensitive?: boolean;
  readonly group?: number;
  readonly minEntropy?: number;
  readonly check?: 'url-password' | 'private-key' | 'putty-key' | 'key-value-password';
  readonly source: string;
}

/**
 * A cheap test for the formats without keywords (those with `keywords: []`), run once on a line with a long
 * run before their regexes are: the start of a Discord bot token (base64 of digits), a Telegram bot token's
 * `:AA`, a Twilio API key SID, a NuGet key, a Mailchimp key's `-usN`. A test checks that it finds every one
 * of their samples; a new keywordless format must be added here too.
 */
export const KEYWORDLESS_HINT =
  /[MNO][DTjz][AEIMQUYcgk][w-z0-5][MNO][DTjz]|\d:AA|SK[0-9a-fA-F]{32}|oy2[a-z0-9]{43}|[0-9a-f]{32}-us\d/;

/** Least bits per character of a secret a pattern reports, unless the pattern says otherwise. */
export const DEFAULT_MIN_ENTROPY = 3;

/** Characters of base64url (RFC 4648 section 5): most modern tokens use them. */
const B64URL = 'A-Za-z0-9_\\-';

/**
 * The known secret formats (see the module docs). Order is the order findings of one line are reported in.
 * Stripe *publishable* keys (`pk_live_`, `pk_test_`) are meant to be public (they ship in web pages) and are
 * not here; Stripe *test* secret keys (`sk_test_`, `rk_test_`) are: they still open the account's test mode
 * (its customers, webhooks and logs), and Stripe's docs ask to keep every secret key secret. A Twilio Account
 * SID (`AC...`) alone is an identifier, not a secret: only API key SIDs (`SK...`) and auth tokens next to the
 * word twilio are reported.
 */
export const SECRET_PATTERNS: readonly SecretPattern[] = Object.freeze([
  // ---- cloud providers
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id',
    keywords: ['akia', 'asia', 'abia', 'acca', 'a3t'],
    regex: '\\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\\b',
    group: 1,
    source:
      'AWS IAM User Guide, "IAM identifiers": unique ID prefixes AKIA (access key) and ASIA (temporary access key), 20 characters',
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key next to its name',
    keywords: ['aws', 'secret_access', 'secretaccess'],
    regex: `(?:aws|secret)[\\w.-]{0,30}?(?:secret|access)[_.-]?(?:access)?[_.-]?key["'\\]]{0,3}\\s*(?:[:=]|=>|:=)\\s*["'\`]?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
    caseInsensitive: true,
    group: 1,
    source:
      'AWS IAM User Guide, "Manage access keys for IAM users": a secret access key is 40 characters of base64',
  },
  {
    id: 'google-api-key',
    description: 'Google API key',
    keywords: ['aiza'],
    regex: `\\b(AIza[${B64URL}]{35})(?![${B64URL}])`,
    group: 1,
    source:
      'Google Cloud documentation, "Manage API keys": keys are 39 characters starting AIza (Maps, Firebase, Gemini and other Google APIs)',
  },
  {
    id: 'google-oauth-client-secret',
    description: 'Google OAuth client secret',
    keywords: ['gocspx-'],
    regex: `\\b(GOCSPX-[${B64URL}]{28})(?![${B64URL}])`,
    group: 1,
    source: 'Google Cloud documentation, "Client secret": OAuth client secrets start GOCSPX-',
  },
  {
    id: 'google-oauth-access-token',
    description: 'Google OAuth access token',
    keywords: ['ya29.'],
    regex: `\\b(ya29\\.[${B64URL}]{30,})`,
    group: 1,
    source:
      'Google Identity documentation, "Using OAuth 2.0 to access Google APIs": access tokens start ya29.',
  },
  {
    id: 'gcp-service-account-key',
    description: 'Google Cloud service account key file (its private key)',
    keywords: ['private_key'],
    regex: '"private_key"\\s*:\\s*"(-----BEGIN[A-Z ]{0,30}PRIVATE KEY-----[^"]{64,16384})',
    group: 1,
    source:
      'Google Cloud IAM documentation, "Create and delete service account keys": a JSON key file with a "private_key" field',
  },
  {
    id: 'azure-storage-account-key',
    description: 'Azure storage account key in a connection string',
    keywords: ['accountkey'],
    regex: 'AccountKey\\s*=\\s*([A-Za-z0-9+/]{86}==)',
    caseInsensitive: true,
    group: 1,
    source:
      'Azure Storage documentation, "Configure Azure Storage connection strings": AccountKey=<88-character base64 key>',
  },
  {
    id: 'azure-shared-access-key',
    description: 'Azure Service Bus / Event Hubs / IoT shared access key',
    keywords: ['sharedaccesskey='],
    regex: 'SharedAccessKey\\s*=\\s*([A-Za-z0-9+/]{42,}=?)',
    caseInsensitive: true,
    group: 1,
    source:
      'Azure Service Bus documentation, "Service Bus authentication with Shared Access Signatures": Endpoint=...;SharedAccessKey=<base64 key>',
  },
  {
    id: 'azure-sas-signature',
    description: 'Azure shared access signature (SAS) token',
    keywords: ['sig='],
    regex: 'sv=\\d{4}-\\d{2}-\\d{2}&[^\\s"\'<>]{0,400}?\\bsig=([A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})',
    caseInsensitive: true,
    group: 1,
    source:
      'Azure Storage documentation, "Grant limited access with shared access signatures": the sv= and sig= query parameters',
  },
  {
    id: 'azure-ad-client-secret',
    description: 'Microsoft Entra ID (Azure AD) client secret',
    keywords: ['q~'],
    regex: '(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}\\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])',
    group: 1,
    source:
      'Microsoft identity platform documentation, "Add a client secret": generated secrets carry the Q~ marker at their 5th character',
  },
  {
    id: 'digitalocean-token',
    description: 'DigitalOcean personal access, OAuth or refresh token',
    keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'],
    regex: '\\b(do[opr]_v1_[a-f0-9]{64})\\b',
    group: 1,
    source:
      'DigitalOcean documentation, "How to Create a Personal Access Token": tokens start dop_v1_ (OAuth doo_v1_, refresh dor_v1_)',
  },
  {
    id: 'heroku-api-key',
    description: 'Heroku API key',
    keywords: ['hrku-'],
    regex: `\\b(HRKU-[${B64URL}]{60})(?![${B64URL}])`,
    group: 1,
    source: 'Heroku Dev Center, "Heroku API tokens": tokens start HRKU-',
  },
  {
    id: 'heroku-api-key-legacy',
    description: 'Heroku API key (UUID form) next to the word heroku',
    keywords: ['heroku'],
    regex:
      'heroku[\\w .-]{0,30}?(?:key|token|secret|pass)[\\w"\']{0,10}\\s*(?:[:=]|=>)\\s*["\']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\\b',
    caseInsensitive: true,
    group: 1,
    source: 'Heroku Dev Center, "Heroku CLI authentication": older API keys are UUIDs',
  },
  {
    id: 'alibaba-access-key-id',
    description: 'Alibaba Cloud AccessKey ID',
    keywords: ['ltai'],
    regex: '\\b(LTAI[A-Za-z0-9]{12,20})\\b',
    group: 1,
    source: 'Alibaba Cloud documentation, "Create an AccessKey pair": AccessKey IDs start LTAI',
  },
  // ---- code hosting and package registries
  {
    id: 'github-token',
    description: 'GitHub token (personal access, OAuth, user-to-server, server-to-server or refresh)',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    regex: '\\b(gh[pousr]_[A-Za-z0-9]{36,251})\\b',
    group: 1,
    source:
      'GitHub documentation, "About authentication to GitHub: GitHub\'s token formats": prefixes ghp_, gho_, ghu_, ghs_, ghr_',
  },
  {
    id: 'github-fine-grained-token',
    description: 'GitHub fine-grained personal access token',
    keywords: ['github_pat_'],
    regex: '\\b(github_pat_[A-Za-z0-9_]{60,251})\\b',
    group: 1,
    source:
      'GitHub documentation, "Managing your personal access tokens": fine-grained tokens start github_pat_',
  },
  {
    id: 'gitlab-token',
    description: 'GitLab token (personal, project, group, deploy, runner, trigger, feed, OAuth, ...)',
    keywords: [
      'glpat-',
      'glptt-',
      'glrt-',
      'gldt-',
      'glcbt-',
      'glsoat-',
      'glffct-',
      'gloas-',
      'glimt-',
      'glagent-',
      'glft-',
      'glwt-',
      'gr1348941',
    ],
    regex: `\\b((?:glpat|glptt|glrt|gldt|glcbt|glsoat|glffct|gloas|glimt|glagent|glft|glwt)-[${B64URL}.]{20,}|GR1348941[${B64URL}]{20,})`,
    group: 1,
    source:
      'GitLab documentation, "GitLab token overview: token prefixes": glpat- (personal), glptt- (pipeline trigger), GR1348941 (runner registration), ...',
  },
  {
    id: 'bitbucket-token',
    description: 'Atlassian / Bitbucket API token',
    keywords: ['atatt3', 'atctt3', 'atbb'],
    regex: `\\b((?:ATATT3|ATCTT3)[${B64URL}=]{150,}|ATBB[A-Za-z0-9]{32,})`,
    group: 1,
    source:
      'Atlassian documentation, "Manage API tokens for your Atlassian account": tokens start ATATT3 (app passwords ATBB)',
  },
  {
    id: 'npm-token',
    description: 'npm access token',
    keywords: ['npm_'],
    regex: '\\b(npm_[A-Za-z0-9]{36})\\b',
    group: 1,
    source: 'npm Docs, "About access tokens": tokens start npm_ followed by 36 characters',
  },
  {
    id: 'pypi-token',
    description: 'PyPI API token',
    keywords: ['pypi-'],
    regex: `\\b(pypi-AgE[${B64URL}]{50,})`,
    group: 1,
    source: 'PyPI help, "API tokens": tokens are prefixed pypi- (a macaroon starting AgE)',
  },
  {
    id: 'docker-hub-token',
    description: 'Docker Hub personal access token',
    keywords: ['dckr_pat_', 'dckr_oat_'],
    regex: `\\b(dckr_(?:pat|oat)_[${B64URL}]{20,})`,
    group: 1,
    source: 'Docker documentation, "Personal access tokens": tokens start dckr_pat_',
  },
  {
    id: 'rubygems-api-key',
    description: 'RubyGems API key',
    keywords: ['rubygems_'],
    regex: '\\b(rubygems_[a-f0-9]{48})\\b',
    group: 1,
    source: 'RubyGems guides, "API key scopes": keys start rubygems_',
  },
  {
    id: 'nuget-api-key',
    description: 'NuGet API key',
    keywords: [],
    regex: '\\b(oy2[a-z0-9]{43})\\b',
    group: 1,
    source: 'NuGet documentation, "Scoped API keys": keys generated by nuget.org start oy2',
  },
  // ---- chat and messaging
  {
    id: 'slack-token',
    description: 'Slack token (bot, user, app-level, refresh, configuration)',
    keywords: ['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxe', 'xoxs-', 'xoxo-', 'xapp-'],
    regex: '\\b(xox(?:[abposr]|e(?:\\.xox[bp])?)-[0-9A-Za-z-]{10,250}|xapp-\\d-[A-Z0-9]+-\\d+-[a-z0-9]+)\\b',
    group: 1,
    source:
      'Slack API documentation, "Token types": xoxb- (bot), xoxp- (user), xapp- (app-level), xoxe- (rotating), xoxr- (refresh)',
  },
  {
    id: 'slack-webhook',
    description: 'Slack incoming webhook URL',
    keywords: ['hooks.slack.com'],
    regex: '(https?://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,})',
    group: 1,
    source:
      'Slack API documentation, "Sending messages using incoming webhooks": the URL https://hooks.slack.com/services/... is the secret',
  },
  {
    id: 'discord-webhook',
    description: 'Discord webhook URL',
    keywords: ['discord'],
    regex:
      '(https?://(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/(?:v\\d+/)?webhooks/\\d{5,30}/[A-Za-z0-9_-]{60,})',
    caseInsensitive: true,
    group: 1,
    source:
      'Discord developer documentation, "Webhook resource": https://discord.com/api/webhooks/<id>/<token> executes without other authentication',
  },
  {
    id: 'discord-bot-token',
    description: 'Discord bot token',
    keywords: [],
    regex:
      '(?:^|[^A-Za-z0-9_-])((?:[MNO][DTjz][AEIMQUYcgk][w-z0-5]){5,6}(?:[MNO][DTjz][AEIMQUYcgk]|[MNO][AQgw])?\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,40})(?![A-Za-z0-9_-])',
    group: 1,
    source:
      'Discord developer documentation, "Reference: Authentication": a bot token is the base64 of the bot\'s numeric user id (17-20 digits, so its first part has only the characters base64 gives digits), a timestamp and an HMAC, joined by dots',
  },
  {
    id: 'telegram-bot-token',
    description: 'Telegram bot token',
    keywords: [],
    regex: '(?:^|[^0-9A-Za-z_])(\\d{8,10}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])',
    group: 1,
    source:
      'Telegram Bot API documentation, "Authorizing your bot": tokens look like 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11 (bot id, colon, 35 characters starting AA)',
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key SID',
    keywords: [],
    regex: '\\b(SK[0-9a-fA-F]{32})\\b',
    group: 1,
    source: 'Twilio documentation, "API keys": API key SIDs start SK followed by 32 hexadecimal characters',
  },
  {
    id: 'twilio-auth-token',
    description: 'Twilio auth token next to the word twilio',
    keywords: ['twilio'],
    regex:
      'twilio[\\w .-]{0,30}?(?:token|secret|auth)[\\w"\']{0,10}\\s*(?:[:=]|=>)\\s*["\']?([0-9a-f]{32})\\b',
    caseInsensitive: true,
    group: 1,
    source: 'Twilio documentation, "Auth tokens and how to change them": 32 hexadecimal characters',
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key',
    keywords: ['sg.'],
    regex: `\\b(SG\\.[${B64URL}]{22}\\.[${B64URL}]{43})(?![${B64URL}])`,
    group: 1,
    source: 'Twilio SendGrid documentation, "API keys": keys start SG. and have two dot-separated parts',
  },
  {
    id: 'mailgun-api-key',
    description: 'Mailgun API key next to the word mailgun',
    keywords: ['mailgun'],
    regex: 'mailgun[^\\n]{0,80}?\\b(key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\\b',
    caseInsensitive: true,
    group: 1,
    source:
      'Mailgun documentation, "API keys": private keys (key- and 32 hex characters in older accounts; <32 hex>-<8 hex>-<8 hex> now)',
  },
  {
    id: 'mailchimp-api-key',
    description: 'Mailchimp API key',
    keywords: [],
    regex: '\\b([0-9a-f]{32}-us\\d{1,2})\\b',
    group: 1,
    source:
      'Mailchimp developer documentation, "About API keys": 32 hexadecimal characters and the data center, -usN',
  },
  // ---- payments and commerce
  {
    id: 'stripe-secret-key',
    description: 'Stripe secret or restricted API key (live or test mode)',
    keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'sk_prod_', 'rk_prod_'],
    regex: '\\b([sr]k_(?:live|test|prod)_[A-Za-z0-9]{16,247})\\b',
    group: 1,
    source:
      'Stripe documentation, "API keys": secret keys start sk_live_ / sk_test_, restricted keys rk_live_ / rk_test_',
  },
  {
    id: 'stripe-webhook-secret',
    description: 'Stripe webhook signing secret',
    keywords: ['whsec_'],
    regex: '\\b(whsec_[A-Za-z0-9+/=]{32,})',
    group: 1,
    source:
      'Stripe documentation, "Receive Stripe events in your webhook endpoint": signing secrets start whsec_',
  },
  {
    id: 'square-token',
    description: 'Square access token or application secret',
    keywords: ['eaaa', 'sq0atp-', 'sq0csp-'],
    regex: `\\b(EAAA[${B64URL}]{60}|sq0atp-[${B64URL}]{22}|sq0csp-[${B64URL}]{43})(?![${B64URL}])`,
    group: 1,
    source:
      'Square developer documentation, "Access tokens and other Square credentials": access tokens start EAAA, application secrets sq0csp-',
  },
  {
    id: 'shopify-token',
    description: 'Shopify access token or shared secret',
    keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    regex: '\\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\\b',
    group: 1,
    source:
      'Shopify developer documentation, "About authentication and authorization": tokens start shpat_ (admin API), shpca_, shppa_; shared secrets shpss_',
  },
  {
    id: 'braintree-access-token',
    description: 'Braintree / PayPal access token',
    keywords: ['access_token$'],
    regex: '(access_token\\$(?:production|sandbox)\\$[0-9a-z]{16}\\$[0-9a-f]{32})',
    group: 1,
    source:
      'Braintree documentation, "Access tokens": access_token$production$<merchant id>$<32 hexadecimal characters>',
  },
  // ---- AI providers
  {
    id: 'openai-api-key',
    description: 'OpenAI API key (project, service account, admin or legacy)',
    keywords: ['sk-proj-', 'sk-svcacct-', 'sk-admin-', 't3blbkfj'],
    regex: `\\b(sk-(?:proj|svcacct|admin)-[${B64URL}]{40,}|sk-[${B64URL}]{20,}T3BlbkFJ[${B64URL}]{20,})(?![${B64URL}])`,
    group: 1,
    source:
      'OpenAI platform documentation, "API keys": project keys start sk-proj-, service account keys sk-svcacct-, admin keys sk-admin-',
  },
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API key',
    keywords: ['sk-ant-'],
    regex: `\\b(sk-ant-[a-z]{2,10}\\d{2}-[${B64URL}]{40,})(?![${B64URL}])`,
    group: 1,
    source: 'Anthropic API documentation, "Getting started: API keys": keys start sk-ant-api03-',
  },
  {
    id: 'sk-api-key',
    description: 'API secret key in the sk- format (OpenAI legacy keys and compatible providers)',
    keywords: ['sk-'],
    regex: '(?:^|[^A-Za-z0-9_-])(sk-[A-Za-z0-9]{32,})(?![A-Za-z0-9_-])',
    minEntropy: 3.5,
    group: 1,
    source:
      'OpenAI platform documentation, "API keys" (legacy keys sk- and 48 characters); DeepSeek, Moonshot and other OpenAI-compatible APIs use sk- too',
  },
  {
    id: 'huggingface-token',
    description: 'Hugging Face access token',
    keywords: ['hf_', 'api_org_'],
    regex: '\\b((?:hf|api_org)_[A-Za-z0-9]{30,})\\b',
    group: 1,
    source: 'Hugging Face Hub documentation, "User access tokens": tokens start hf_',
  },
  {
    id: 'groq-api-key',
    description: 'Groq API key',
    keywords: ['gsk_'],
    regex: '\\b(gsk_[A-Za-z0-9]{48,})\\b',
    group: 1,
    source: 'GroqCloud documentation, "API keys": keys start gsk_',
  },
  {
    id: 'replicate-api-token',
    description: 'Replicate API token',
    keywords: ['r8_'],
    regex: '\\b(r8_[A-Za-z0-9]{37})\\b',
    group: 1,
    source: 'Replicate documentation, "Authentication": API tokens start r8_',
  },
  {
    id: 'perplexity-api-key',
    description: 'Perplexity API key',
    keywords: ['pplx-'],
    regex: '\\b(pplx-[A-Za-z0-9]{40,})\\b',
    group: 1,
    source: 'Perplexity API documentation, "Getting started": keys start pplx-',
  },
  {
    id: 'xai-api-key',
    description: 'xAI API key',
    keywords: ['xai-'],
    regex: '\\b(xai-[A-Za-z0-9]{60,})\\b',
    group: 1,
    source: 'xAI API documentation, "Getting started": keys start xai-',
  },
  // ---- developer services
  {
    id: 'databricks-token',
    description: 'Databricks personal access token',
    keywords: ['dapi'],
    regex: '\\b(dapi[a-f0-9]{32}(?:-\\d)?)\\b',
    group: 1,
    source: 'Databricks documentation, "Databricks personal access token authentication": tokens start dapi',
  },
  {
    id: 'hashicorp-vault-token',
    description: 'HashiCorp Vault token',
    keywords: ['hvs.', 'hvb.', 'hvr.'],
    regex: `\\b(hv[sbr]\\.[${B64URL}]{24,})(?![${B64URL}])`,
    group: 1,
    source:
      'HashiCorp Vault documentation, "Tokens: token prefixes": hvs. (service), hvb. (batch), hvr. (recovery)',
  },
  {
    id: 'terraform-cloud-token',
    description: 'HCP Terraform (Terraform Cloud) API token',
    keywords: ['.atlasv1.'],
    regex: `\\b([A-Za-z0-9]{14}\\.atlasv1\\.[${B64URL}]{60,})(?![${B64URL}])`,
    group: 1,
    source: 'HCP Terraform documentation, "API tokens": <14 characters>.atlasv1.<token>',
  },
  {
    id: 'pulumi-access-token',
    description: 'Pulumi access token',
    keywords: ['pul-'],
    regex: '\\b(pul-[a-f0-9]{40})\\b',
    group: 1,
    source: 'Pulumi documentation, "Access tokens": tokens start pul-',
  },
  {
    id: 'doppler-token',
    description: 'Doppler token',
    keywords: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'],
    regex: '\\b(dp\\.(?:pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,})\\b',
    group: 1,
    source:
      'Doppler documentation, "Token formats": dp.pt. (personal), dp.st. (service), dp.sa. (service account)',
  },
  {
    id: 'sentry-token',
    description: 'Sentry auth token',
    keywords: ['sntrys_', 'sntryu_'],
    regex: '\\b(sntry[su]_[A-Za-z0-9+/=_]{40,})',
    group: 1,
    source: 'Sentry documentation, "Auth tokens": organization tokens start sntrys_, user tokens sntryu_',
  },
  {
    id: 'postman-api-key',
    description: 'Postman API key',
    keywords: ['pmak-'],
    regex: '\\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\\b',
    caseInsensitive: true,
    group: 1,
    source: 'Postman documentation, "Generate and use Postman API keys": keys start PMAK-',
  },
  {
    id: 'new-relic-key',
    description: 'New Relic user API key or license key',
    keywords: ['nrak-', 'nrjs-', 'nral-'],
    regex: '\\b(NR(?:AK|JS|AL)-[A-Z0-9]{27,})\\b',
    caseInsensitive: true,
    group: 1,
    source: 'New Relic documentation, "New Relic API keys": user keys start NRAK-, browser keys NRJS-',
  },
  {
    id: 'dynatrace-token',
    description: 'Dynatrace API token',
    keywords: ['dt0c01.', 'dt0s01.'],
    regex: '\\b(dt0[cs]01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64})\\b',
    group: 1,
    source: 'Dynatrace documentation, "Access tokens: token format": dt0c01.<public part>.<secret part>',
  },
  {
    id: 'grafana-token',
    description: 'Grafana Cloud or service account token',
    keywords: ['glc_', 'glsa_'],
    regex: `\\b(glc_[${B64URL}+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[a-f0-9]{8})`,
    group: 1,
    source: 'Grafana documentation, "Service accounts" (glsa_) and "Cloud access policies" (glc_ tokens)',
  },
  {
    id: 'linear-api-key',
    description: 'Linear API key',
    keywords: ['lin_api_'],
    regex: '\\b(lin_api_[A-Za-z0-9]{40})\\b',
    group: 1,
    source: 'Linear developer documentation, "API and webhooks: personal API keys": keys start lin_api_',
  },
  {
    id: 'notion-token',
    description: 'Notion integration token',
    keywords: ['ntn_', 'secret_'],
    regex: '\\b(ntn_[A-Za-z0-9]{40,}|secret_[A-Za-z0-9]{43})\\b',
    group: 1,
    source:
      'Notion developer documentation, "Authorization": integration tokens start ntn_ (formerly secret_)',
  },
  {
    id: 'figma-token',
    description: 'Figma personal access token',
    keywords: ['figd_'],
    regex: `\\b(figd_[${B64URL}]{40,})`,
    group: 1,
    source: 'Figma developer documentation, "Access tokens": personal access tokens start figd_',
  },
  {
    id: 'onepassword-service-account-token',
    description: '1Password service account token',
    keywords: ['ops_ey'],
    regex: `\\b(ops_eyJ[${B64URL}=]{100,})`,
    group: 1,
    source: '1Password developer documentation, "Service accounts": tokens start ops_',
  },
  {
    id: 'tailscale-key',
    description: 'Tailscale API access token or auth key',
    keywords: ['tskey-'],
    regex: '\\b(tskey-[a-z]+-[A-Za-z0-9]{10,}-[A-Za-z0-9]{20,})\\b',
    group: 1,
    source: 'Tailscale documentation, "API access tokens" and "Auth keys": keys start tskey-',
  },
  {
    id: 'planetscale-token',
    description: 'PlanetScale token or password',
    keywords: ['pscale_'],
    regex: `\\b(pscale_(?:tkn|pw|oauth)_[${B64URL}.]{32,64})`,
    group: 1,
    source: 'PlanetScale documentation, "Service tokens" and "Connection strings": pscale_tkn_, pscale_pw_',
  },
  {
    id: 'supabase-key',
    description: 'Supabase access token or secret key',
    keywords: ['sbp_', 'sb_secret_'],
    regex: `\\b(sbp_[a-f0-9]{40}|sb_secret_[${B64URL}]{20,})`,
    group: 1,
    source:
      'Supabase documentation, "Understanding API keys": secret keys start sb_secret_; management API access tokens sbp_',
  },
  {
    id: 'flyio-token',
    description: 'Fly.io access token',
    keywords: ['fo1_', 'fm1', 'fm2_'],
    regex: `\\b(fo1_[${B64URL}]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})`,
    group: 1,
    source: 'Fly.io documentation, "Access tokens": tokens start fo1_ or FlyV1 fm2_',
  },
  {
    id: 'mapbox-secret-token',
    description: 'Mapbox secret access token',
    keywords: ['sk.eyj'],
    regex: `\\b(sk\\.eyJ[${B64URL}]{50,}\\.[${B64URL}]{20,})`,
    group: 1,
    source: 'Mapbox documentation, "Access tokens": secret tokens start sk. (public ones pk.)',
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key',
    keywords: ['age-secret-key-1'],
    regex: '(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})',
    group: 1,
    source:
      'age specification (age-encryption.org/v1): secret keys are Bech32 strings starting AGE-SECRET-KEY-1',
  },
  // ---- generic formats
  {
    id: 'jwt',
    description: 'JSON Web Token (signed)',
    keywords: ['eyj'],
    regex: `\\b(eyJ[${B64URL}]{8,}\\.eyJ[${B64URL}]{8,}\\.[${B64URL}]{16,})(?![${B64URL}])`,
    group: 1,
    source:
      'RFC 7519 (JSON Web Token) and RFC 7515 (JWS compact serialization): base64url header.payload.signature',
  },
  {
    id: 'private-key',
    description: 'private key block',
    keywords: ['private key'],
    regex: '-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----',
    check: 'private-key',
    minEntropy: 0,
    source: 'RFC 7468 (textual encodings: PEM), OpenSSH PROTOCOL.key and RFC 4880 (OpenPGP armor)',
  },
  {
    id: 'putty-private-key',
    description: 'PuTTY private key file',
    keywords: ['putty-user-key-file-'],
    regex: 'PuTTY-User-Key-File-\\d:',
    check: 'putty-key',
    minEntropy: 0,
    source: 'PuTTY documentation, "PPK file format": PuTTY-User-Key-File-2/3 with Private-Lines',
  },
  {
    id: 'url-password',
    description: 'password in a URL (database connection strings, basic authentication)',
    keywords: ['://'],
    regex:
      '\\b([a-z][a-z0-9+.-]{1,30})://([^\\s:/?#@"\'`<>]{0,100}):([^\\s/?#@"\'`<>]{1,200})@([^\\s/?#:"\'`<>]{1,253})',
    caseInsensitive: true,
    group: 3,
    check: 'url-password',
    minEntropy: 0,
    source:
      'RFC 3986 (URI generic syntax) section 3.2.1, user information; PostgreSQL "Connection URIs", MySQL, MongoDB and Redis connection string formats',
  },
  {
    id: 'connection-string-password',
    description: 'password in a key=value connection string (ADO.NET, JDBC, ODBC)',
    keywords: ['password=', 'pwd='],
    regex: '(?:^|[;?&\\s"\'])(?:password|pwd)\\s*=\\s*([^;&\\s"\'<>]{4,200})',
    caseInsensitive: true,
    group: 1,
    check: 'key-value-password',
    minEntropy: 0,
    source:
      'Microsoft documentation, "Connection string syntax" (ADO.NET: Password= / Pwd=) and the JDBC URL password property',
  },
] satisfies SecretPattern[]);
