#include "PacaiCharacter.h"

#include "Camera/PlayerCameraManager.h"
#include "Components/InputComponent.h"
#include "GameFramework/CharacterMovementComponent.h"
#include "GameFramework/PlayerController.h"

APacaiCharacter::APacaiCharacter()
{
	// Face where it walks, as the other engines' player does; the view stays the level's.
	bUseControllerRotationYaw = false;
	GetCharacterMovement()->bOrientRotationToMovement = true;
}

void APacaiCharacter::ApplyMovement(float WalkSpeed, float JumpVelocity)
{
	UCharacterMovementComponent* Movement = GetCharacterMovement();
	Movement->MaxWalkSpeed = WalkSpeed;
	Movement->JumpZVelocity = JumpVelocity;
}

void APacaiCharacter::AddScore(int32 Value)
{
	Score += Value;
	OnScoreChanged.Broadcast(Score);
}

void APacaiCharacter::SetupPlayerInputComponent(UInputComponent* PlayerInputComponent)
{
	Super::SetupPlayerInputComponent(PlayerInputComponent);
	// The mappings are Config/DefaultInput.ini's (written with the project).
	PlayerInputComponent->BindAxis("PacaiMoveForward", this, &APacaiCharacter::MoveForward);
	PlayerInputComponent->BindAxis("PacaiMoveRight", this, &APacaiCharacter::MoveRight);
	PlayerInputComponent->BindAction("PacaiJump", IE_Pressed, this, &ACharacter::Jump);
	PlayerInputComponent->BindAction("PacaiJump", IE_Released, this, &ACharacter::StopJumping);
}

void APacaiCharacter::MoveForward(float Value)
{
	MoveAlong(EAxis::X, Value);
}

void APacaiCharacter::MoveRight(float Value)
{
	MoveAlong(EAxis::Y, Value);
}

void APacaiCharacter::MoveAlong(EAxis::Type Axis, float Value)
{
	if (Value == 0.0f)
	{
		return;
	}
	// Relative to the view (the level's main camera, or the pawn's own), flattened onto the
	// ground: the Godot and Unity players move relative to the active camera the same way.
	const APlayerController* Player = Cast<APlayerController>(GetController());
	const FRotator View = Player != nullptr && Player->PlayerCameraManager != nullptr
		? Player->PlayerCameraManager->GetCameraRotation()
		: GetActorRotation();
	const FRotator Yaw(0.0f, View.Yaw, 0.0f);
	AddMovementInput(FRotationMatrix(Yaw).GetUnitAxis(Axis), Value);
}
