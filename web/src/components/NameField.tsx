/** The "Name" input of every form: a key's, a secret's, a role's (1 to 256 characters). */
export function NameField({ value, onChange }: { value: string; onChange(value: string): void }) {
  return (
    <label>
      Name
      <input
        type="text"
        required
        maxLength={256}
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    </label>
  );
}
